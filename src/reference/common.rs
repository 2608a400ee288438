//! Helpers of several shaders' references: the counter-based random numbers that
//! `shaders/common/pcg.wgsl` draws, and the dense products with a weight matrix that the
//! ternary and block-sparse products are checked against.

use super::matmul::matmul;
use crate::kernels::{ActivationLayout, MatmulForm};

/// The PCG hash of `shaders/common/pcg.wgsl` (`pcg`).
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// Uniform in [0, 1) for counter `i` of stream `stream` under `seed`, as `pcg_uniform01` in
/// `shaders/common/pcg.wgsl` draws it (exactly: a 24-bit integer times 2^-24).
pub fn uniform01(seed: u32, i: u32, stream: u32) -> f64 {
    (pcg(i ^ pcg(seed ^ pcg(stream))) >> 8) as f64 / 16_777_216.0
}

/// y[m, n] = sum_k x[m, k] W[n, k] (f64 accumulation), computed as y^T = W x^T when y is
/// stored [N, M].
pub fn weight_product(x: &[f32], w: &[f32], m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    let mut y = vec![0f32; m * n];
    if layout.trans_y {
        matmul(MatmulForm::from_trans(false, !layout.trans_x), w, x, &mut y, n, m, k, false);
    } else {
        matmul(MatmulForm::from_trans(layout.trans_x, true), x, w, &mut y, m, n, k, false);
    }
    y
}

/// dx[m, k] = sum_n dy[m, n] W[n, k] (dy laid out as y, dx as x), as dx^T = W^T dy^T when dx
/// is stored [K, M].
pub fn weight_product_t(dy: &[f32], w: &[f32], m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    let mut dx = vec![0f32; m * k];
    if layout.trans_x {
        matmul(MatmulForm::from_trans(true, !layout.trans_y), w, dy, &mut dx, k, m, n, false);
    } else {
        matmul(MatmulForm::from_trans(layout.trans_y, false), dy, w, &mut dx, m, k, n, false);
    }
    dx
}

/// dw[n, k] = sum_m dy[m, n] x[m, k]: the weight gradient of `weight_product`.
pub fn weight_product_grad(dy: &[f32], x: &[f32], m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    let mut dw = vec![0f32; n * k];
    // op(dy) is [n, m]: dy itself when stored [N, M]; op(x) is [m, k]: x^T when stored [K, M].
    matmul(MatmulForm::from_trans(!layout.trans_y, layout.trans_x), dy, x, &mut dw, n, k, m, false);
    dw
}
