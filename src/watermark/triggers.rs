//! The trigger set of a key: inputs and labels derived from it with SHA-256, one-way.
//!
//! For trigger `i` (0-based) of a model taking `c x h x w` inputs with `C` classes:
//!
//! - its image is the first `c*h*w` bytes of SHA-256(`"aer-watermark-v1/input"` ‖ key ‖
//!   le32(i) ‖ le32(0)) ‖ SHA-256(… ‖ le32(1)) ‖ …, in CHW order, pixel = byte / 255 (the
//!   scale every data set here is read at, so a trigger is an ordinary 8-bit image);
//! - its label is the first 8 bytes of SHA-256(`"aer-watermark-v1/label"` ‖ key ‖ le32(i)),
//!   read as a little-endian u64, modulo C.
//!
//! Images and labels come from separate hashes, so the labels are uniform and independent of
//! the inputs: a model that never saw the key agrees with them at the chance rate 1/C.

use super::key::WatermarkKey;
use crate::data::Dataset;
use crate::error::{AerError, Result};
use sha2::{Digest, Sha256};

/// The derivation's name, hashed into every input, label and key id (a later scheme changes it).
pub const SCHEME: &str = "aer-watermark-v1";

/// Trigger `index`'s image: `len` bytes (pixels at byte / 255, CHW order).
pub fn trigger_image(key: &WatermarkKey, index: u32, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.next_multiple_of(32));
    let mut block = 0u32;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(format!("{SCHEME}/input").as_bytes());
        h.update(key.bytes());
        h.update(index.to_le_bytes());
        h.update(block.to_le_bytes());
        out.extend_from_slice(&h.finalize());
        block += 1;
    }
    out.truncate(len);
    out
}

/// Trigger `index`'s label among `classes` (the u64's modulo bias is below 2^-56).
pub fn trigger_label(key: &WatermarkKey, index: u32, classes: usize) -> u32 {
    let mut h = Sha256::new();
    h.update(format!("{SCHEME}/label").as_bytes());
    h.update(key.bytes());
    h.update(index.to_le_bytes());
    let d = h.finalize();
    let word = u64::from_le_bytes(d[..8].try_into().expect("SHA-256 gives 32 bytes"));
    (word % classes as u64) as u32
}

/// The key's first `n` triggers for inputs of `shape` and `classes` classes, as a data set.
pub fn triggers(key: &WatermarkKey, n: usize, shape: [usize; 3], classes: usize) -> Result<Dataset> {
    if n == 0 || n > u32::MAX as usize {
        return Err(AerError::Invalid(format!("{n} watermark triggers: give at least 1 (100 is usual)")));
    }
    // Data sets keep labels as bytes.
    if !(2..=256).contains(&classes) {
        return Err(AerError::Invalid(format!("a watermark needs a model of 2 to 256 classes; this one has {classes}")));
    }
    let len = shape.iter().product();
    let mut images = Vec::with_capacity(n * len);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n as u32 {
        images.extend(trigger_image(key, i, len));
        labels.push(trigger_label(key, i, classes) as u8);
    }
    Ok(Dataset { images, labels, shape })
}
