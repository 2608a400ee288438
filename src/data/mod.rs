//! Data sets: readers for MNIST's IDX files and CIFAR's binary batches, the held-out
//! validation split, seeded shuffling and batching, and the standard data sets by name
//! (`catalog`, `download`, `source`).

pub mod catalog;
mod cifar;
mod dataset;
#[cfg(all(feature = "download", not(target_arch = "wasm32")))]
pub mod download;
mod idx;
mod source;

pub use cifar::{parse_cifar_batch, read_cifar10_batch, read_cifar_batch, Cifar};
pub use dataset::{idx_dataset, load_dir, validation_size, Dataset, Splits};
pub use idx::{parse_idx, read_idx, IdxArray};
pub use source::{bundled, open, BUNDLED};

/// The bundled 10,000-image MNIST subset in a source checkout, relative to the crate root
/// (the library carries the same files: `open("mnist-10k")`).
pub const BUNDLED_MNIST: &str = "assets/data/mnist-10k";
