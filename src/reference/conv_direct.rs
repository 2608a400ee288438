//! References for `shaders/conv_direct.wgsl`: the convolution and its gradients in textbook
//! loops, which the direct kernels compute and conv2d.wgsl's im2col, matmul and permutes
//! compose to.

use crate::kernels::Conv2dGeometry;

/// Calls `f(y_index, w_index, x_index)` for every product a direct convolution with `co`
/// output channels sums (taps in the zero padding are skipped).
fn for_each_product(g: &Conv2dGeometry, co: usize, mut f: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = (g.oh(), g.ow());
    for img in 0..g.n {
        for o in 0..co {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ch in 0..g.c {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let yy = (oy * g.stride + ky) as isize - g.pad as isize;
                                let xx = (ox * g.stride + kx) as isize - g.pad as isize;
                                if yy >= 0 && xx >= 0 && (yy as usize) < g.h && (xx as usize) < g.w {
                                    f(((img * co + o) * oh + oy) * ow + ox, ((o * g.c + ch) * g.kh + ky) * g.kw + kx, ((img * g.c + ch) * g.h + yy as usize) * g.w + xx as usize);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Direct convolution, y [n, co, oh, ow] = w [co, c, kh, kw] * x + bias, as a textbook loop.
pub fn conv2d_forward(g: &Conv2dGeometry, x: &[f32], w: &[f32], bias: &[f32], co: usize) -> Vec<f32> {
    let hw = g.oh() * g.ow();
    let mut y: Vec<f64> = (0..g.n * co * hw).map(|i| bias[(i / hw) % co] as f64).collect();
    for_each_product(g, co, |yi, wi, xi| y[yi] += w[wi] as f64 * x[xi] as f64);
    y.into_iter().map(|v| v as f32).collect()
}

/// The gradient of `conv2d_forward` with respect to x for dy [n, co, oh, ow]: every output's
/// gradient sent back to the pixels it read.
pub fn conv2d_backward_data(g: &Conv2dGeometry, dy: &[f32], w: &[f32], co: usize) -> Vec<f32> {
    let mut dx = vec![0f64; g.n * g.c * g.h * g.w];
    for_each_product(g, co, |yi, wi, xi| dx[xi] += w[wi] as f64 * dy[yi] as f64);
    dx.into_iter().map(|v| v as f32).collect()
}

/// The gradient of `conv2d_forward` with respect to w [co, c, kh, kw] for dy [n, co, oh, ow]:
/// every output's gradient times each input it read.
pub fn conv2d_backward_weight(g: &Conv2dGeometry, dy: &[f32], x: &[f32], co: usize) -> Vec<f32> {
    let mut dw = vec![0f64; co * g.patch()];
    for_each_product(g, co, |yi, wi, xi| dw[wi] += x[xi] as f64 * dy[yi] as f64);
    dw.into_iter().map(|v| v as f32).collect()
}
