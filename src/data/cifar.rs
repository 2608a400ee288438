//! CIFAR's binary batches: records of label bytes followed by 3,072 pixel bytes (1,024 red,
//! 1,024 green, 1,024 blue, row-major 32x32), which is already CHW order. CIFAR-10 has one
//! label byte; CIFAR-100 two (the coarse class, then the fine one, which is the label used).

use crate::error::{AerError, Result};
use std::path::Path;

const PIXELS: usize = 3 * 32 * 32;

/// The two binary formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cifar {
    Ten,
    Hundred,
}

impl Cifar {
    fn label_bytes(self) -> usize {
        match self {
            Cifar::Ten => 1,
            Cifar::Hundred => 2,
        }
    }
    fn classes(self) -> u8 {
        match self {
            Cifar::Ten => 10,
            Cifar::Hundred => 100,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Cifar::Ten => "CIFAR-10",
            Cifar::Hundred => "CIFAR-100",
        }
    }
}

/// (images as CHW bytes, labels) of one CIFAR-10 batch file.
pub fn read_cifar10_batch(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    read_cifar_batch(path, Cifar::Ten)
}

/// (images as CHW bytes, labels) of one batch file of either format.
pub fn read_cifar_batch(path: &Path, kind: Cifar) -> Result<(Vec<u8>, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|e| AerError::file(path, format!("cannot read: {e}")))?;
    parse_cifar_batch(&raw, kind).map_err(|reason| AerError::file(path, reason))
}

/// (images as CHW bytes, labels) of the bytes of one batch file; the error says what is wrong.
pub fn parse_cifar_batch(raw: &[u8], kind: Cifar) -> std::result::Result<(Vec<u8>, Vec<u8>), String> {
    let record = kind.label_bytes() + PIXELS;
    if raw.is_empty() || raw.len() % record != 0 {
        return Err(format!("{} bytes is not a whole number of {record}-byte {} records; the file is truncated or not a {} binary batch", raw.len(), kind.name(), kind.name()));
    }
    let mut images = Vec::with_capacity(raw.len());
    let mut labels = Vec::with_capacity(raw.len() / record);
    for (i, rec) in raw.chunks_exact(record).enumerate() {
        let label = rec[kind.label_bytes() - 1];
        if label >= kind.classes() {
            let hint = if kind == Cifar::Ten { " (CIFAR-100 has two label bytes)" } else { "" };
            return Err(format!("record {i}: label {label} outside 0..={}: not a {} batch{hint}", kind.classes() - 1, kind.name()));
        }
        labels.push(label);
        images.extend_from_slice(&rec[kind.label_bytes()..]);
    }
    Ok((images, labels))
}
