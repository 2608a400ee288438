//! References for `shaders/shift_blur.wgsl`.

use super::common::{border_read, example_key, sample_bilinear, uniform01_f32};
use crate::kernels::Border;

/// out[plane, y, x] = f(plane, y, x) over an image batch [n, c, h, w].
pub fn per_pixel([n, c, h, w]: [usize; 4], f: impl Fn(usize, usize, usize) -> f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * c * h * w);
    for plane in 0..n * c {
        for y in 0..h {
            for x in 0..w {
                out.push(f(plane, y, x));
            }
        }
    }
    out
}

/// src [n, c, h, w] correlated with `taps` [kh, kw] (odd, centred) under `border`, clamped to
/// [0, 1] with `clamp01`.
pub fn convolve(src: &[f32], taps: &[f32], shape: [usize; 4], [kh, kw]: [usize; 2], border: Border, clamp01: bool) -> Vec<f32> {
    let [_, _, h, w] = shape;
    per_pixel(shape, |plane, y, x| {
        let img = &src[plane * h * w..(plane + 1) * h * w];
        let mut acc = 0f64;
        for a in 0..kh {
            for b in 0..kw {
                let (r, c) = (y as i64 + a as i64 - (kh / 2) as i64, x as i64 + b as i64 - (kw / 2) as i64);
                acc += taps[a * kw + b] as f64 * border_read(img, [h, w], r, c, border) as f64;
            }
        }
        if clamp01 { acc.clamp(0.0, 1.0) as f32 } else { acc as f32 }
    })
}

/// ImageMagick's motion blur: tap k reads the pixel (ceil(k cos - 1/2), ceil(k sin - 1/2))
/// away along example e's `dirs[e]` = (cos, sin), edge pixels repeated.
pub fn motion_blur(src: &[f32], taps: &[f32], dirs: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, x| {
        let img = &src[plane * h * w..(plane + 1) * h * w];
        let (cs, sn) = (dirs[2 * (plane / c)], dirs[2 * (plane / c) + 1]);
        let acc: f64 = taps
            .iter()
            .enumerate()
            .map(|(k, &t)| {
                let (ox, oy) = ((k as f32 * cs - 0.5).ceil() as i64, (k as f32 * sn - 0.5).ceil() as i64);
                t as f64 * border_read(img, [h, w], y as i64 + oy, x as i64 + ox, Border::Nearest) as f64
            })
            .sum();
        acc.clamp(0.0, 1.0) as f32
    })
}

/// The mean of the zoomed copies `table` [zooms, 6] describes (and src, `with_identity`).
pub fn zoom_blur(src: &[f32], table: &[f32], shape: [usize; 4], with_identity: bool) -> Vec<f32> {
    let [_, _, h, w] = shape;
    let terms = table.len() / 6 + with_identity as usize;
    per_pixel(shape, |plane, y, x| {
        let img = &src[plane * h * w..(plane + 1) * h * w];
        let mut acc = if with_identity { img[y * w + x] as f64 } else { 0.0 };
        for t in table.chunks(6) {
            let (fy, fx) = (t[0] + (y as f32 + t[2]) * t[1], t[3] + (x as f32 + t[5]) * t[4]);
            acc += sample_bilinear(img, [h, w], fy, fx, Border::Nearest) as f64;
        }
        (acc / terms as f64).clamp(0.0, 1.0) as f32
    })
}

/// The source pixel glass blur's pass `pass` reads for (y, x) of example `e`.
#[allow(clippy::too_many_arguments)]
pub fn glass_source([h, w]: [usize; 2], delta: u32, coin: bool, seed: u32, pass: u32, e: usize, y: usize, x: usize) -> (usize, usize) {
    let d = delta as usize;
    if !(y > d && y + d <= h && x > d && x + d <= w) {
        return (y, x);
    }
    let (key, pos) = (example_key(seed, e as u32), (y * w + x) as u32);
    if coin && uniform01_f32(key, pos, 3 * pass) >= 0.5 {
        return (y, x);
    }
    let step = |stream| (uniform01_f32(key, pos, stream) * (2 * d) as f32) as usize;
    (y + step(3 * pass + 1) - d, x + step(3 * pass + 2) - d)
}

/// One pass of glass blur's local shuffle.
pub fn glass_shuffle(src: &[f32], shape: [usize; 4], delta: u32, coin: bool, seed: u32, pass: u32) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, x| {
        let (sy, sx) = glass_source([h, w], delta, coin, seed, pass, plane / c, y, x);
        src[plane * h * w + sy * w + sx]
    })
}
