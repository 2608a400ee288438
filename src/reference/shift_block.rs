//! References for `shaders/shift_block.wgsl`.

use crate::kernels::{box_windows, jpeg_tables};

/// x [n, c, h, w] shrunk to [dh, dw] and grown back with PIL's BOX filter (no 8-bit rounding).
pub fn pixelate(x: &[f32], [n, c, h, w]: [usize; 4], [dh, dw]: [usize; 2]) -> Vec<f32> {
    assert_eq!(x.len(), n * c * h * w);
    let (rows, cols) = (box_windows(h, dh), box_windows(w, dw));
    let mut out = Vec::with_capacity(x.len());
    for plane in x.chunks(h * w) {
        let small: Vec<f64> = (0..dh * dw)
            .map(|k| {
                let ((y0, ny), (x0, nx)) = (rows[k / dw], cols[k % dw]);
                let sum: f64 = (y0..y0 + ny).flat_map(|y| (x0..x0 + nx).map(move |x| plane[y as usize * w + x as usize] as f64)).sum();
                sum / (ny * nx) as f64
            })
            .collect();
        // BOX upsampling takes the small pixel whose box holds the centre.
        out.extend((0..h * w).map(|k| small[((2 * (k / w) + 1) * dh / (2 * h)) * dw + (2 * (k % w) + 1) * dw / (2 * w)] as f32));
    }
    out
}

/// The shader's `round_up`: half up, the threshold nudged off exact ties by 3e-4.
fn round_up(v: f64) -> f64 {
    (v + 0.5003).floor()
}

/// RGB samples (0 to 255) to JFIF YCbCr, each rounded as libjpeg stores them.
fn to_ycbcr([r, g, b]: [f64; 3]) -> [f64; 3] {
    [0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0, 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0].map(|v| round_up(v).clamp(0.0, 255.0))
}

fn to_rgb([y, cb, cr]: [f64; 3]) -> [f64; 3] {
    let (cb, cr) = (cb - 128.0, cr - 128.0);
    [y + 1.402 * cr, y - 0.344136 * cb - 0.714136 * cr, y + 1.772 * cb]
}

/// x [n, c, h, w] through baseline JPEG at `quality` and back, as the shader does it.
pub fn jpeg(x: &[f32], [n, c, h, w]: [usize; 4], quality: u32) -> Vec<f32> {
    assert_eq!(x.len(), n * c * h * w);
    let t: Vec<f64> = jpeg_tables(quality).into_iter().map(|v| v as f64).collect();
    let basis = |x: usize, u: usize| t[128 + x * 8 + u];
    let hw = h * w;
    let mut out = vec![0f32; x.len()];
    for (e, image) in x.chunks(c * hw).enumerate() {
        // Samples in JPEG's colour space, per channel.
        let byte = |ch: usize, k: usize| (255.0 * image[ch * hw + k] as f64).round_ties_even();
        let samples: Vec<Vec<f64>> = if c == 3 {
            let ycc: Vec<[f64; 3]> = (0..hw).map(|k| to_ycbcr([byte(0, k), byte(1, k), byte(2, k)])).collect();
            (0..3).map(|ch| ycc.iter().map(|v| v[ch]).collect()).collect()
        } else {
            (0..c).map(|ch| (0..hw).map(|k| byte(ch, k)).collect()).collect()
        };
        let decoded: Vec<Vec<f64>> = samples
            .iter()
            .enumerate()
            .map(|(ch, s)| {
                let table = if c == 3 && ch > 0 { 64 } else { 0 };
                let mut d = vec![0.0; hw];
                for by in (0..h).step_by(8) {
                    for bx in (0..w).step_by(8) {
                        let pixel = |y: usize, x: usize| s[(by + y).min(h - 1) * w + (bx + x).min(w - 1)] - 128.0;
                        let mut coef = [0.0; 64];
                        for (k, q) in coef.iter_mut().enumerate() {
                            let (v, u) = (k / 8, k % 8);
                            let f: f64 = (0..8).map(|y| (0..8).map(|x| pixel(y, x) * basis(x, u)).sum::<f64>() * basis(y, v)).sum();
                            *q = f.signum() * round_up(f.abs() / t[table + k]) * t[table + k];
                        }
                        for y in 0..8.min(h - by) {
                            for x in 0..8.min(w - bx) {
                                let f: f64 = (0..8).map(|v| (0..8).map(|u| coef[v * 8 + u] * basis(x, u)).sum::<f64>() * basis(y, v)).sum();
                                d[(by + y) * w + bx + x] = round_up(f + 128.0).clamp(0.0, 255.0);
                            }
                        }
                    }
                }
                d
            })
            .collect();
        for k in 0..hw {
            let values: Vec<f64> = if c == 3 { to_rgb([decoded[0][k], decoded[1][k], decoded[2][k]]).to_vec() } else { (0..c).map(|ch| decoded[ch][k]).collect() };
            for (ch, v) in values.into_iter().enumerate() {
                out[e * c * hw + ch * hw + k] = (round_up(v).clamp(0.0, 255.0) / 255.0) as f32;
            }
        }
    }
    out
}
