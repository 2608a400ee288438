//! Helpers of several shaders' references: the counter-based random numbers that
//! `shaders/common/pcg.wgsl` draws, and the dense products with a weight matrix that the
//! ternary and block-sparse products are checked against.

use super::matmul::matmul;
use crate::kernels::{ActivationLayout, Border, MatmulForm};

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

/// `border_index` of `shaders/common/bilinear.wgsl`: index `i` of an axis of length `n` under
/// `border`, None where the border reads 0.
pub fn border_index(i: i64, n: usize, border: Border) -> Option<usize> {
    let n = n as i64;
    if (0..n).contains(&i) {
        return Some(i as usize);
    }
    Some(match border {
        Border::Zero => return None,
        _ if n == 1 => 0,
        Border::Nearest => i.clamp(0, n - 1) as usize,
        Border::Reflect => {
            let m = i.rem_euclid(2 * n);
            (if m >= n { 2 * n - 1 - m } else { m }) as usize
        }
        Border::Reflect101 => {
            let m = i.rem_euclid(2 * n - 2);
            (if m >= n { 2 * n - 2 - m } else { m }) as usize
        }
    })
}

/// `border_read`: plane [h, w] at (row, col) under `border`.
pub fn border_read(plane: &[f32], [h, w]: [usize; 2], row: i64, col: i64, border: Border) -> f32 {
    match (border_index(row, h, border), border_index(col, w, border)) {
        (Some(r), Some(c)) => plane[r * w + c],
        _ => 0.0,
    }
}

/// `sample_bilinear`: plane [h, w] at (fy, fx), in f32 as the shader computes it.
pub fn sample_bilinear(plane: &[f32], hw: [usize; 2], fy: f32, fx: f32, border: Border) -> f32 {
    let (y0, x0) = (fy.floor(), fx.floor());
    let (ty, tx) = (fy - y0, fx - x0);
    let (r, c) = (y0 as i64, x0 as i64);
    let read = |dr, dc| border_read(plane, hw, r + dr, c + dc, border);
    let top = (1.0 - tx) * read(0, 0) + tx * read(0, 1);
    let bottom = (1.0 - tx) * read(1, 0) + tx * read(1, 1);
    (1.0 - ty) * top + ty * bottom
}

/// The key of example `e` under `seed` that the corruption shaders draw from
/// (`pcg(seed ^ pcg(e))`).
pub fn example_key(seed: u32, e: u32) -> u32 {
    pcg(seed ^ pcg(e))
}

/// `pcg_uniform01` in f32, as the shaders use it.
pub fn uniform01_f32(seed: u32, i: u32, stream: u32) -> f32 {
    (pcg(i ^ pcg(seed ^ pcg(stream))) >> 8) as f32 * (1.0 / 16_777_216.0)
}
