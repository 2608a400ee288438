//! The packed ternary format: 2 bits per weight, 16 weights per little-endian u32.
//!
//! A weight matrix [N, K] (a linear layer's [out, in]; a convolution's [out, in * kh * kw], in
//! PyTorch's order) takes `ceil(K / 16)` words per row, rows one after another. Weight k of
//! row n is in word `n * ceil(K / 16) + k / 16`, at bits `2 (k % 16)` (1 = nonzero) and
//! `2 (k % 16) + 1` (1 = negative): 00 is 0, 01 is +1, 11 is -1; 10 never occurs, and the bits
//! past K in a row's last word are 00. The value of a weight is its code times
//! `scale_pos` (code +1) or `scale_neg` (code -1) of its group.

use crate::error::{AerError, Result};

pub use super::words_per_row;

/// The 2-bit code of a ternary value (-1, 0 or 1).
fn code(t: i8) -> u32 {
    match t {
        0 => 0b00,
        1 => 0b01,
        -1 => 0b11,
        other => panic!("ternary value {other} is not -1, 0 or 1"),
    }
}

/// Pack ternary values [n, k] (each -1, 0 or 1).
pub fn pack(values: &[i8], n: usize, k: usize) -> Vec<u32> {
    assert_eq!(values.len(), n * k, "pack: {} values for [{n}, {k}]", values.len());
    let wpr = words_per_row(k);
    let mut out = vec![0u32; n * wpr];
    for r in 0..n {
        for c in 0..k {
            out[r * wpr + c / 16] |= code(values[r * k + c]) << (2 * (c % 16));
        }
    }
    out
}

/// Unpack words into ternary values [n, k]; a code 10 or a set padding bit is corrupt data.
pub fn unpack(words: &[u32], n: usize, k: usize) -> Result<Vec<i8>> {
    let wpr = words_per_row(k);
    if words.len() != n * wpr {
        return Err(AerError::Invalid(format!("packed ternary [{n}, {k}] needs {} words, found {}", n * wpr, words.len())));
    }
    let mut out = Vec::with_capacity(n * k);
    for r in 0..n {
        for c in 0..wpr * 16 {
            let bits = (words[r * wpr + c / 16] >> (2 * (c % 16))) & 3;
            let value = match (bits, c < k) {
                (0b00, _) => 0,
                (0b01, true) => 1,
                (0b11, true) => -1,
                _ => return Err(AerError::Invalid(format!("packed ternary [{n}, {k}]: invalid code {bits:02b} at row {r}, column {c}; the file is corrupt"))),
            };
            if c < k {
                out.push(value);
            }
        }
    }
    Ok(out)
}
