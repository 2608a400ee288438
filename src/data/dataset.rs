//! An in-memory image data set (bytes, CHW) and the train / validation / test splits.

use super::{cifar::{read_cifar_batch, Cifar}, idx::{parse_idx, read_idx, IdxArray}};
use crate::error::{AerError, Result};
use rand::{seq::SliceRandom, SeedableRng};
use std::path::{Path, PathBuf};

/// Images held out of the training files for validation, unless a size is given: a share of
/// them (10%, at most 5,000), so a small data set is not mostly validation. Model selection
/// and tuning look at these, never at the test split.
pub fn validation_size(train_images: usize) -> usize {
    (train_images / 10).min(5000)
}
/// The validation images are a seeded random choice (fixed, independent of training seeds):
/// files may be ordered by class, as the bundled subset is, so a tail would miss classes.
const VALIDATION_SEED: u64 = 0x005e_ed0f_7a11;

#[derive(Clone, Debug)]
pub struct Dataset {
    /// n * c * h * w bytes, each image in CHW order.
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    /// [channels, height, width].
    pub shape: [usize; 3],
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Images `range` as a new data set.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Dataset {
        let d = self.image_len();
        Dataset {
            images: self.images[range.start * d..range.end * d].to_vec(),
            labels: self.labels[range].to_vec(),
            shape: self.shape,
        }
    }

    /// The images at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Dataset {
        let d = self.image_len();
        Dataset {
            images: idx.iter().flat_map(|&i| self.images[i * d..(i + 1) * d].iter().copied()).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
        }
    }

    /// `n` images spread evenly over the set (all of them when n is larger): a sample that
    /// keeps the class mix of files ordered by class.
    pub fn spread(&self, n: usize) -> Dataset {
        self.select(&self.spread_indices(n))
    }

    /// The indices `spread(n)` takes.
    pub fn spread_indices(&self, n: usize) -> Vec<usize> {
        let (len, n) = (self.len(), n.min(self.len()));
        (0..n).map(|i| i * len / n).collect()
    }

    /// The first `n` images (all of them when n is larger).
    pub fn head(&self, n: usize) -> Dataset {
        self.slice(0..n.min(self.len()))
    }

    /// Fill `x` (pixels scaled to [0, 1], NCHW) and `y` with the examples `idx`.
    pub fn gather(&self, idx: &[u32], x: &mut Vec<f32>, y: &mut Vec<u32>) {
        let d = self.image_len();
        x.clear();
        y.clear();
        for &i in idx {
            let i = i as usize;
            x.extend(self.images[i * d..(i + 1) * d].iter().map(|&p| p as f32 / 255.0));
            y.push(self.labels[i] as u32);
        }
    }

    /// The example order of one epoch: a shuffle seeded by (seed, epoch), so a resumed run
    /// sees exactly the batches an uninterrupted one would.
    pub fn epoch_order(&self, seed: u64, epoch: usize) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        order.shuffle(&mut rng);
        order
    }
}

/// Training, validation and test data of one source.
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Dataset,
    pub val: Dataset,
    pub test: Dataset,
    pub classes: usize,
    /// Where the data came from, for reports.
    pub source: String,
}

impl Splits {
    /// Hold out `val_size` training images (by default `validation_size`), chosen at random
    /// with a fixed seed, for validation; both parts keep the files' order.
    pub fn new(train: Dataset, test: Dataset, val_size: Option<usize>, source: String) -> Result<Splits> {
        let val_size = val_size.unwrap_or_else(|| validation_size(train.len()));
        if train.shape != test.shape {
            return Err(AerError::Invalid(format!(
                "{source}: training images are {:?} but test images are {:?}",
                train.shape, test.shape
            )));
        }
        if val_size >= train.len() {
            return Err(AerError::Invalid(format!(
                "{source}: cannot hold out {val_size} validation images from {} training images; pass a smaller --val-size",
                train.len()
            )));
        }
        if test.is_empty() {
            return Err(AerError::Invalid(format!("{source}: the test files hold no images; every command measures on them, so give at least one")));
        }
        let classes = class_count(&[(&format!("{source}: training labels"), &train.labels), (&format!("{source}: test labels"), &test.labels)])?;
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(VALIDATION_SEED));
        let mut held = vec![false; train.len()];
        order[..val_size].iter().for_each(|&i| held[i] = true);
        let (val_idx, train_idx): (Vec<usize>, Vec<usize>) = (0..train.len()).partition(|&i| held[i]);
        Ok(Splits { val: train.select(&val_idx), train: train.select(&train_idx), test, classes, source })
    }
}

/// The class count the labels make: the largest label + 1, where every class from 1 up to
/// it has an example (class 0 may have none: labels counted from 1). A label beyond a class
/// without examples is refused (one stray 200 among digits would make a 201-class model),
/// naming the labels (`sets`: name, labels), the label and its index.
fn class_count(sets: &[(&str, &[u8])]) -> Result<usize> {
    let mut seen = [false; 256];
    sets.iter().flat_map(|(_, l)| l.iter()).for_each(|&l| seen[l as usize] = true);
    let classes = seen.iter().rposition(|&s| s).map_or(0, |l| l + 1);
    let Some(missing) = (1..classes).find(|&c| !seen[c]) else { return Ok(classes) };
    let (name, i, label) = sets.iter().find_map(|(name, l)| l.iter().position(|&x| x as usize > missing).map(|i| (name, i, l[i]))).expect("a label above the missing class");
    let upto = (missing..label as usize).take_while(|&c| !seen[c]).last().unwrap_or(missing);
    Err(AerError::Invalid(format!(
        "{name}: label {label} at index {i} is outside the classes 0 to {} that the other labels make (classes {missing} to {upto} have no example); labels must run from 0 to the number of classes - 1: fix or remove that example",
        missing - 1
    )))
}

/// Load a data directory: MNIST-style IDX files (`train-images-idx3-ubyte`, raw or `.gz`, of
/// any image size and class count), CIFAR-10 binary batches (`data_batch_1.bin` ...) or
/// CIFAR-100's (`train.bin`, `test.bin`), each also in the folder its archive unpacks to.
pub fn load_dir(dir: &Path, val_size: Option<usize>) -> Result<Splits> {
    if !dir.is_dir() {
        return Err(AerError::file(dir, "no such data directory; pass --data DIR with MNIST IDX files or CIFAR binary batches"));
    }
    let source = dir.display().to_string();
    if let Some((cifar, kind)) = cifar_dir(dir) {
        let (train_files, test_file): (Vec<String>, &str) = match kind {
            Cifar::Ten => ((1..=5).map(|i| format!("data_batch_{i}.bin")).collect(), "test_batch.bin"),
            Cifar::Hundred => (vec!["train.bin".into()], "test.bin"),
        };
        let mut train = Dataset { images: Vec::new(), labels: Vec::new(), shape: [3, 32, 32] };
        for f in train_files {
            let p = cifar.join(f);
            if p.exists() {
                let (im, lb) = read_cifar_batch(&p, kind)?;
                train.images.extend(im);
                train.labels.extend(lb);
            }
        }
        let (images, labels) = read_cifar_batch(&cifar.join(test_file), kind)?;
        let test = Dataset { images, labels, shape: [3, 32, 32] };
        return Splits::new(train, test, val_size, source);
    }
    let (train, train_labels) = read_idx_pair(dir, "train")?;
    let (test, test_labels) = read_idx_pair(dir, "t10k")?;
    // Checked here too, to name the label files.
    class_count(&[(&train_labels.display().to_string(), &train.labels), (&test_labels.display().to_string(), &test.labels)])?;
    Splits::new(train, test, val_size, source)
}

fn cifar_dir(dir: &Path) -> Option<(PathBuf, Cifar)> {
    let ten = [dir.to_path_buf(), dir.join("cifar-10-batches-bin")].into_iter().find(|d| d.join("data_batch_1.bin").exists());
    let hundred = || [dir.to_path_buf(), dir.join("cifar-100-binary")].into_iter().find(|d| d.join("train.bin").exists());
    ten.map(|d| (d, Cifar::Ten)).or_else(|| hundred().map(|d| (d, Cifar::Hundred)))
}

/// `prefix`-images / `prefix`-labels under either of MNIST's two naming styles, and the
/// labels' path.
fn read_idx_pair(dir: &Path, prefix: &str) -> Result<(Dataset, PathBuf)> {
    let images = find(dir, &[&format!("{prefix}-images-idx3-ubyte"), &format!("{prefix}-images.idx3-ubyte")])?;
    let labels = find(dir, &[&format!("{prefix}-labels-idx1-ubyte"), &format!("{prefix}-labels.idx1-ubyte")])?;
    let im = read_idx(&images, 3)?;
    let lb = read_idx(&labels, 1)?;
    let data = pair(im, lb).map_err(|reason| AerError::file(&labels, format!("{reason} in {}", images.display())))?;
    Ok((data, labels))
}

fn pair(im: IdxArray, lb: IdxArray) -> std::result::Result<Dataset, String> {
    if im.dims[0] != lb.dims[0] {
        return Err(format!("{} labels for {} images", lb.dims[0], im.dims[0]));
    }
    if im.dims[1] == 0 || im.dims[2] == 0 {
        return Err(format!("images of {} x {} pixels: the image header is corrupt", im.dims[1], im.dims[2]));
    }
    Ok(Dataset { images: im.data, labels: lb.data, shape: [1, im.dims[1], im.dims[2]] })
}

/// A data set from the bytes of an IDX image file and its label file (plain or gzip), as a
/// browser fetches them; `origin` names them in errors.
pub fn idx_dataset(images: &[u8], labels: &[u8], origin: &str) -> Result<Dataset> {
    let im = parse_idx(images, 3).map_err(|e| AerError::Invalid(format!("{origin} images: {e}")))?;
    let lb = parse_idx(labels, 1).map_err(|e| AerError::Invalid(format!("{origin} labels: {e}")))?;
    pair(im, lb).map_err(|e| AerError::Invalid(format!("{origin}: {e}")))
}

fn find(dir: &Path, names: &[&str]) -> Result<PathBuf> {
    for n in names {
        for candidate in [dir.join(n), dir.join(format!("{n}.gz"))] {
            if candidate.exists() {
                return Ok(candidate);
            }
        }
    }
    Err(AerError::file(dir, format!("missing {} (or {}.gz): expected MNIST-style IDX files or CIFAR binary batches", names[0], names[0])))
}
