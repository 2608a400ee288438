//! Where a command's data comes from: a directory, the name of a data set installed by
//! `aer data get`, or `mnist-10k`, the 10,000-image MNIST subset built into the library (so
//! an installed binary needs nothing from its source tree).

use super::catalog::{data_root, installed, names, CATALOG};
use super::dataset::{idx_dataset, load_dir, Splits};
use crate::error::{AerError, Result};
use std::path::Path;

/// The name of the bundled subset, the default data of every command.
pub const BUNDLED: &str = "mnist-10k";

const BUNDLED_FILES: [&[u8]; 4] = [
    include_bytes!("../../assets/data/mnist-10k/train-images-idx3-ubyte.gz"),
    include_bytes!("../../assets/data/mnist-10k/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../assets/data/mnist-10k/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../assets/data/mnist-10k/t10k-labels-idx1-ubyte.gz"),
];

/// The bundled subset's splits.
pub fn bundled(val_size: Option<usize>) -> Result<Splits> {
    let [tri, trl, tei, tel] = BUNDLED_FILES;
    let train = idx_dataset(tri, trl, "bundled mnist-10k training")?;
    let test = idx_dataset(tei, tel, "bundled mnist-10k test")?;
    Splits::new(train, test, val_size, BUNDLED.into())
}

/// Load `data`: an existing directory as it is; otherwise a data set name (`mnist-10k`, or
/// one of the catalog once downloaded). The error says which of these was meant and how to
/// get it.
pub fn open(data: &Path, val_size: Option<usize>) -> Result<Splits> {
    if data.is_dir() {
        return load_dir(data, val_size);
    }
    let name = data.to_str().filter(|s| !s.is_empty() && !s.contains(['/', '\\']));
    let Some(name) = name else {
        return Err(AerError::file(data, format!("no such data directory; pass --data with a directory of MNIST IDX files or CIFAR binary batches, or a data set name: {BUNDLED}, {}", names())));
    };
    if name == BUNDLED {
        return bundled(val_size);
    }
    let Some(e) = CATALOG.iter().find(|e| e.name == name) else {
        return Err(AerError::Invalid(format!("--data {name}: no such directory, and no data set of that name; the names are {BUNDLED} (bundled), {}", names())));
    };
    let root = data_root()?;
    match installed(&root, e) {
        Some(dir) => {
            let mut s = load_dir(&dir, val_size)?;
            s.source = name.into();
            Ok(s)
        }
        None => Err(AerError::Invalid(format!(
            "data set {name} is not downloaded (looked in {}): run `aer data get {name}`, or pass --data with a directory that holds it",
            root.join(name).display()
        ))),
    }
}
