//! References for `shaders/bsr.wgsl`: the block-sparse products as the dense products with
//! the weights outside kept blocks set to zero.

use super::bsr_format::{block_flags, expand_block_mask};
use super::common::{weight_product, weight_product_grad, weight_product_t};
use crate::kernels::ActivationLayout;

/// 1 at every element of a kept block, 0 elsewhere.
pub fn block_expand(mask: &[f32], n: usize, k: usize, b: usize) -> Vec<f32> {
    let keep: Vec<f32> = block_flags(mask, n, k, b).into_iter().map(|f| f as u32 as f32).collect();
    expand_block_mask(&keep, n, k, (b, b))
}

/// Weights outside the kept blocks set to zero.
fn blocked(w: &[f32], mask: &[f32], n: usize, k: usize, b: usize) -> Vec<f32> {
    w.iter().zip(block_expand(mask, n, k, b)).map(|(&v, keep)| v * keep).collect()
}

/// `kernels::bsr_matmul`: y = x W^T over the blocks `mask` keeps.
#[allow(clippy::too_many_arguments)]
pub fn bsr_matmul(x: &[f32], w: &[f32], mask: &[f32], m: usize, n: usize, k: usize, b: usize, layout: ActivationLayout) -> Vec<f32> {
    weight_product(x, &blocked(w, mask, n, k, b), m, n, k, layout)
}

/// `kernels::bsr_matmul_t`: dx = dy W over the blocks `mask` keeps.
#[allow(clippy::too_many_arguments)]
pub fn bsr_matmul_t(dy: &[f32], w: &[f32], mask: &[f32], m: usize, n: usize, k: usize, b: usize, layout: ActivationLayout) -> Vec<f32> {
    weight_product_t(dy, &blocked(w, mask, n, k, b), m, n, k, layout)
}

/// `kernels::bsr_weight_grad`: dW = dy^T x inside the kept blocks, 0 outside.
#[allow(clippy::too_many_arguments)]
pub fn bsr_weight_grad(dy: &[f32], x: &[f32], mask: &[f32], m: usize, n: usize, k: usize, b: usize, layout: ActivationLayout) -> Vec<f32> {
    let dw = weight_product_grad(dy, x, m, n, k, layout);
    blocked(&dw, mask, n, k, b)
}
