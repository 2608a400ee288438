//! References for `shaders/shift_warp.wgsl`.

use super::common::sample_bilinear;
use super::shift_blur::per_pixel;
use crate::kernels::Border;

/// src [n, c, h, w] sampled at example e's inverse map `maps[6e..6e + 6]` = (a, b, tx, c, d,
/// ty) of each output pixel, clamped to [0, 1].
pub fn affine_warp(src: &[f32], maps: &[f32], shape: [usize; 4], border: Border) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, x| {
        let m = &maps[6 * (plane / c)..6 * (plane / c) + 6];
        let (xf, yf) = (x as f32, y as f32);
        let (fx, fy) = (m[0] * xf + m[1] * yf + m[2], m[3] * xf + m[4] * yf + m[5]);
        sample_bilinear(&src[plane * h * w..(plane + 1) * h * w], [h, w], fy, fx, border).clamp(0.0, 1.0)
    })
}

/// src [n, c, h, w] sampled at (y + dy, x + dx), `field` [n, 2, h, w] = (dx, dy), clamped.
pub fn displace(src: &[f32], field: &[f32], shape: [usize; 4], border: Border) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, x| {
        let at = 2 * (plane / c) * h * w + y * w + x;
        let (fx, fy) = (x as f32 + field[at], y as f32 + field[at + h * w]);
        sample_bilinear(&src[plane * h * w..(plane + 1) * h * w], [h, w], fy, fx, border).clamp(0.0, 1.0)
    })
}
