//! References for `shaders/dropout.wgsl`.

use super::common::uniform01;

/// Whether inverted dropout under `seed` keeps element `i`.
pub fn dropout_keeps(seed: u32, i: u32, rate: f32) -> bool {
    uniform01(seed, i, 0) as f32 >= rate
}

/// src / (1 - rate) where kept, 0 where dropped.
pub fn dropout(src: &[f32], rate: f32, seed: u32) -> Vec<f32> {
    src.iter().enumerate().map(|(i, &v)| if dropout_keeps(seed, i as u32, rate) { v / (1.0 - rate) } else { 0.0 }).collect()
}
