//! What the end-to-end test binaries share: one device per binary (opening one costs seconds
//! on a CPU adapter) and the bundled MNIST subset.
#![allow(dead_code)] // each binary uses its own share of these

use aer::data::{load_dir, Splits, BUNDLED_MNIST};
use aer::gpu::{AdapterChoice, Gpu};
use pollster::block_on;
use std::path::Path;
use std::sync::OnceLock;

pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| block_on(Gpu::new(&AdapterChoice::from_env())).expect("a GPU adapter (apt-get install mesa-vulkan-drivers)"))
}

/// The bundled subset with its 1,000-image validation split.
pub fn mnist() -> Splits {
    load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_MNIST), 1000).unwrap()
}

/// The first `train` training and `val` validation images of the bundled subset.
pub fn mnist_head(train: usize, val: usize) -> Splits {
    let mut s = mnist();
    s.train = s.train.head(train);
    s.val = s.val.head(val);
    s
}
