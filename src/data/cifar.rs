//! CIFAR-10's binary batches: records of one label byte followed by 3,072 pixel bytes
//! (1,024 red, 1,024 green, 1,024 blue, row-major 32x32), which is already CHW order.

use crate::error::{AerError, Result};
use std::path::Path;

pub const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// (images as CHW bytes, labels) of one batch file.
pub fn read_cifar10_batch(path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let raw = std::fs::read(path).map_err(|e| AerError::file(path, format!("cannot read: {e}")))?;
    if raw.is_empty() || raw.len() % CIFAR_RECORD != 0 {
        return Err(AerError::file(
            path,
            format!("{} bytes is not a whole number of {CIFAR_RECORD}-byte CIFAR-10 records; the file is truncated or not a CIFAR-10 binary batch", raw.len()),
        ));
    }
    let mut images = Vec::with_capacity(raw.len());
    let mut labels = Vec::with_capacity(raw.len() / CIFAR_RECORD);
    for rec in raw.chunks_exact(CIFAR_RECORD) {
        if rec[0] > 9 {
            return Err(AerError::file(path, format!("label {} outside 0..=9: not a CIFAR-10 batch (CIFAR-100 has two label bytes)", rec[0])));
        }
        labels.push(rec[0]);
        images.extend_from_slice(&rec[1..]);
    }
    Ok((images, labels))
}
