//! References for `shaders/spectrum.wgsl`: the direct 2-D DFT in f64.

use std::f64::consts::TAU;

/// |F(u, v)| of one plane [h, w], F(u, v) = sum_{y, x} x[y, x] exp(-2 pi i (u y / h + v x / w)).
pub fn dft_magnitude(plane: &[f32], [h, w]: [usize; 2]) -> Vec<f64> {
    let mut out = vec![0f64; h * w];
    for u in 0..h {
        for v in 0..w {
            let (mut re, mut im) = (0f64, 0f64);
            for y in 0..h {
                for x in 0..w {
                    let angle = TAU * (((u * y) % h) as f64 / h as f64 + ((v * x) % w) as f64 / w as f64);
                    re += plane[y * w + x] as f64 * angle.cos();
                    im -= plane[y * w + x] as f64 * angle.sin();
                }
            }
            out[u * w + v] = re.hypot(im);
        }
    }
    out
}

/// The mean over the n c planes of x [n, c, h, w] of `dft_magnitude`, [h, w].
pub fn spectrum(x: &[f32], [n, c, h, w]: [usize; 4]) -> Vec<f32> {
    let mut sum = vec![0f64; h * w];
    for plane in x.chunks(h * w).take(n * c) {
        for (s, m) in sum.iter_mut().zip(dft_magnitude(plane, [h, w])) {
            *s += m;
        }
    }
    sum.iter().map(|s| (s / (n * c) as f64) as f32).collect()
}
