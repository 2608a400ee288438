//! References for `shaders/channel_skip.wgsl`: the dense products on inputs whose dropped
//! channels are zeroed, which is what skipping them must equal.

use crate::kernels::{Conv2dGeometry, SkipShape};

/// x [n, channels * g] with every channel not in `kept[n, ..]` (u32 [n, keep]) set to zero.
pub fn drop_channels(x: &[f32], n: usize, g: usize, kept: &[u32], keep: usize) -> Vec<f32> {
    let per = x.len() / n;
    let mut out = vec![0f32; x.len()];
    for e in 0..n {
        for &c in &kept[e * keep..(e + 1) * keep] {
            let at = e * per + c as usize * g;
            out[at..at + g].copy_from_slice(&x[at..at + g]);
        }
    }
    out
}

/// y [n, m] = w [m, k] x [n, k] with the dropped channels zeroed.
pub fn skip_linear(s: SkipShape, w: &[f32], x: &[f32], kept: &[u32]) -> Vec<f32> {
    let x = drop_channels(x, s.n, s.g, kept, s.keep);
    let mut y = vec![0f32; s.n * s.m];
    for e in 0..s.n {
        for o in 0..s.m {
            y[e * s.m + o] = (0..s.k).map(|i| w[o * s.k + i] as f64 * x[e * s.k + i] as f64).sum::<f64>() as f32;
        }
    }
    y
}

/// The convolution of x [n, c, h, w] by w [co, c, kh, kw] (no bias) with the dropped channels
/// zeroed: [n, co, oh, ow].
pub fn skip_conv(g: &Conv2dGeometry, co: usize, w: &[f32], x: &[f32], kept: &[u32], keep: usize) -> Vec<f32> {
    let x = drop_channels(x, g.n, g.h * g.w, kept, keep);
    super::conv2d_forward(g, &x, w, &vec![0.0; co], co)
}

/// The input gradient of `skip_conv` for dy [n, co, oh, ow]: the convolution's, zero at the
/// dropped channels (their inputs were never read).
pub fn skip_conv_backward_data(g: &Conv2dGeometry, co: usize, w: &[f32], dy: &[f32], kept: &[u32], keep: usize) -> Vec<f32> {
    drop_channels(&super::conv2d_backward_data(g, dy, w, co), g.n, g.h * g.w, kept, keep)
}

/// The weight gradient of `skip_conv` for dy [n, co, oh, ow]: the convolution's on the input
/// with the dropped channels zeroed, [co, c * kh * kw].
pub fn skip_conv_weight_grad(g: &Conv2dGeometry, co: usize, x: &[f32], dy: &[f32], kept: &[u32], keep: usize) -> Vec<f32> {
    super::conv2d_backward_weight(g, dy, &drop_channels(x, g.n, g.h * g.w, kept, keep), co)
}
