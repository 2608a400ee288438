//! References for `shaders/bsr_ternary.wgsl`: the dense products of the dequantized ternary
//! weights with every weight outside a kept block set to zero.

use super::bsr::{bsr_matmul, bsr_matmul_t};
use super::ternary::dequantize;
use crate::kernels::ActivationLayout;

/// y[m, n] = sum_k x[m, k] W[n, k], W the dequantized ternary values (per-row scales) inside
/// the blocks where `mask` has a nonzero element.
#[allow(clippy::too_many_arguments)]
pub fn bsr_ternary_matmul(x: &[f32], t: &[i8], scale_pos: &[f32], scale_neg: &[f32], mask: &[f32], m: usize, n: usize, k: usize, b: usize, layout: ActivationLayout) -> Vec<f32> {
    bsr_matmul(x, &dequantize(t, scale_pos, scale_neg, n, k), mask, m, n, k, b, layout)
}

/// dx[m, k] = sum_n dy[m, n] W[n, k] with W as in `bsr_ternary_matmul` (dy laid out as y).
#[allow(clippy::too_many_arguments)]
pub fn bsr_ternary_matmul_t(dy: &[f32], t: &[i8], scale_pos: &[f32], scale_neg: &[f32], mask: &[f32], m: usize, n: usize, k: usize, b: usize, layout: ActivationLayout) -> Vec<f32> {
    bsr_matmul_t(dy, &dequantize(t, scale_pos, scale_neg, n, k), mask, m, n, k, b, layout)
}
