//! References for `shaders/ternary.wgsl`: ternary products as dense products with the
//! dequantized weights.

use super::common::{weight_product, weight_product_t};
use crate::kernels::ActivationLayout;

/// Dequantized weights [n, k] from ternary values and per-row scales.
pub fn dequantize(t: &[i8], scale_pos: &[f32], scale_neg: &[f32], n: usize, k: usize) -> Vec<f32> {
    (0..n * k)
        .map(|i| match t[i] {
            1 => scale_pos[i / k],
            -1 => -scale_neg[i / k],
            _ => 0.0,
        })
        .collect()
}

/// y[m, n] = sum_k x[m, k] W[n, k] with W dequantized: the dense product.
#[allow(clippy::too_many_arguments)]
pub fn ternary_matmul(x: &[f32], t: &[i8], scale_pos: &[f32], scale_neg: &[f32], m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    weight_product(x, &dequantize(t, scale_pos, scale_neg, n, k), m, n, k, layout)
}

/// dx[m, k] = sum_n dy[m, n] W[n, k] with W dequantized (dy laid out as y, dx as x).
#[allow(clippy::too_many_arguments)]
pub fn ternary_matmul_t(dy: &[f32], t: &[i8], scale_pos: &[f32], scale_neg: &[f32], m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    weight_product_t(dy, &dequantize(t, scale_pos, scale_neg, n, k), m, n, k, layout)
}
