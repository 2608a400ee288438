//! Data sets: readers for MNIST's IDX files and CIFAR-10's binary batches, the held-out
//! validation split, and seeded shuffling and batching.

mod cifar;
mod dataset;
mod idx;

pub use cifar::read_cifar10_batch;
pub use dataset::{idx_dataset, load_dir, Dataset, Splits, VALIDATION_SIZE};
pub use idx::{parse_idx, read_idx, IdxArray};

/// The bundled 10,000-image MNIST subset, relative to the crate root.
pub const BUNDLED_MNIST: &str = "assets/data/mnist-10k";
