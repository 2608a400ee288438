//! Bit flips, plainly (see `shaders/faults.wgsl`).

use super::common::uniform01;

/// The flip mask of `bits` bits for counter i.
fn flips(seed: u32, i: u32, bits: u32, rate: f32) -> u32 {
    (0..bits).filter(|&b| (uniform01(seed, i, b) as f32) < rate).fold(0, |m, b| m | 1 << b)
}

pub fn flip_bits(words: &[u32], rate: f32, seed: u32) -> Vec<u32> {
    words.iter().enumerate().map(|(i, &w)| w ^ flips(seed, i as u32, 32, rate)).collect()
}

/// f32 -> f16 (round to nearest even), flips, back to f32; pairs share one 32-bit counter.
pub fn flip_bits_f16(values: &[f32], rate: f32, seed: u32) -> Vec<f32> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let m = flips(seed, (i / 2) as u32, 32, rate) >> (16 * (i % 2));
            half::f16::from_bits(half::f16::from_f32(v).to_bits() ^ (m & 0xffff) as u16).to_f32()
        })
        .collect()
}
