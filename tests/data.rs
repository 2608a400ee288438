//! The data readers on files the tests write: CIFAR-10 binary batches and MNIST's naming
//! variants, the bundled subset, and data named by `--data`.

mod common;

use aer::data::{load_dir, BUNDLED_MNIST};
use std::path::Path;

#[test]
fn cifar10_batches_load_as_chw() {
    let d = common::tmpdir("cifar");
    let sub = d.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&sub).unwrap();
    let record = |label: u8, seed: u8| {
        let mut r = vec![label];
        r.extend((0..3072u32).map(|i| (i as u8).wrapping_mul(seed)));
        r
    };
    let mut batch1 = Vec::new();
    for i in 0..12u8 {
        batch1.extend(record(i % 10, i + 1));
    }
    std::fs::write(sub.join("data_batch_1.bin"), &batch1).unwrap();
    std::fs::write(sub.join("data_batch_2.bin"), record(7, 3)).unwrap();
    std::fs::write(sub.join("test_batch.bin"), [record(2, 5), record(9, 6)].concat()).unwrap();
    let s = load_dir(&d, Some(3)).unwrap();
    assert_eq!(s.train.shape, [3, 32, 32]);
    assert_eq!((s.train.len(), s.val.len(), s.test.len()), (10, 3, 2));
    assert_eq!(s.classes, 10);
    // The held-out images are a fixed random choice; together with training they are the files.
    let mut all: Vec<u8> = s.train.labels.iter().chain(&s.val.labels).copied().collect();
    all.sort();
    assert_eq!(all, vec![0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 7, 8, 9]);
    assert_eq!(load_dir(&d, Some(3)).unwrap().val.labels, s.val.labels);
    // Pixel 1025 of image 0 is green channel, x = 1, y = 0.
    assert_eq!(s.train.images[1025], 1u8);
    assert_eq!(s.test.images[3072 + 5], 30);

    std::fs::write(sub.join("test_batch.bin"), &record(2, 5)[..100]).unwrap();
    let e = load_dir(&d, Some(3)).unwrap_err().to_string();
    assert!(e.contains("test_batch.bin") && e.contains("3073"), "{e}");
}

#[test]
fn bundled_mnist_subset() {
    let s = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_MNIST), Some(1000)).unwrap();
    assert_eq!((s.train.len(), s.val.len(), s.test.len(), s.classes), (7004, 1000, 1996, 10));
    assert_eq!(s.train.shape, [1, 28, 28]);
    // The files run in class blocks; validation must still see every class.
    for c in 0..10u8 {
        let n = s.val.labels.iter().filter(|&&l| l == c).count();
        assert!((60..=140).contains(&n), "class {c} has {n} of 1000 validation images");
    }
    // Seeded shuffles are reproducible and differ between epochs.
    assert_eq!(s.train.epoch_order(1, 0), s.train.epoch_order(1, 0));
    assert_ne!(s.train.epoch_order(1, 0), s.train.epoch_order(1, 1));
}

/// The bundled test file is not class-balanced (its first 100 labels are only 5s and 8s), so
/// subsets for attacks, verification, faults and corruption (`--n N`) are spread over the split:
/// 100 spread images hold every class.
#[test]
fn subsets_are_spread_over_the_classes() {
    let test = load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_MNIST), Some(1000)).unwrap().test;
    let classes = |d: &aer::data::Dataset| d.labels.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert!(classes(&test.head(100)) <= 2, "the bundled test file's order changed: update its README");
    assert_eq!(classes(&test.spread(100)), 10);
}

/// `--data` takes a directory or a name; the bundled subset is built in, so it loads by name
/// from any directory, with the default validation share (10%, at most 5,000).
#[test]
fn data_by_name_or_directory() {
    use aer::data::{open, validation_size, BUNDLED};
    assert_eq!((validation_size(8004), validation_size(55_000 + 5_000), validation_size(9)), (800, 5000, 0));
    let named = open(Path::new(BUNDLED), None).unwrap();
    assert_eq!((named.train.len(), named.val.len(), named.test.len(), named.source.as_str()), (7204, 800, 1996, BUNDLED));
    let dir = open(&Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_MNIST), None).unwrap();
    assert_eq!((dir.train.images, dir.val.labels), (named.train.images, named.val.labels));
    let e = open(Path::new("mnits"), None).unwrap_err().to_string();
    assert!(e.contains("mnits") && e.contains("fashion-mnist") && e.contains("mnist-10k"), "{e}");
    let e = open(Path::new("no/such/dir"), None).unwrap_err().to_string();
    assert!(e.contains("no/such/dir") && e.contains("no such data directory"), "{e}");
    // A catalog name that is not downloaded says how to get it (an empty data directory here).
    let root = common::tmpdir("data-root");
    std::env::set_var(aer::data::catalog::DATA_DIR_VAR, &root);
    let e = open(Path::new("cifar10"), None).unwrap_err().to_string();
    assert!(e.contains("aer data get cifar10") && e.contains(&root.display().to_string()), "{e}");
}
