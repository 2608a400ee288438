//! Corrupted copies of a test split (MNIST-C, CIFAR-10-C). This placeholder only declares the
//! spatial corruptions; the framework (catalogue, dispatch, `aer shift`) replaces it.

pub mod spatial;
