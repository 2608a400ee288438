//! References for `shaders/ternary_f16.wgsl`: the ternary product with half-precision
//! activations, and f16 rounding.

use super::ternary::ternary_matmul;
use crate::kernels::ActivationLayout;

/// `ternary_matmul` with half-precision activations: x rounded to f16, the product in f32,
/// y rounded to f16 (returned widened to f32).
#[allow(clippy::too_many_arguments)]
pub fn ternary_matmul_f16(x: &[f32], t: &[i8], scale_pos: &[f32], scale_neg: &[f32], m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    let xh: Vec<f32> = x.iter().map(|&v| round_f16(v)).collect();
    ternary_matmul(&xh, t, scale_pos, scale_neg, m, n, k, layout).into_iter().map(round_f16).collect()
}

/// v rounded to the nearest f16, as f32.
pub fn round_f16(v: f32) -> f32 {
    half::f16::from_f32(v).to_f32()
}
