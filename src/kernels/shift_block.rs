use super::shaders::SHIFT_BLOCK;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    dh: u32,
    dw: u32,
    _p: [u32; 2],
}

/// PIL's BOX filter support when resizing `from` pixels to `to`: for each output pixel, the
/// first source pixel and how many it averages (the pixels whose centres fall in the box,
/// from PIL's precompute_coeffs with support 1/2 scaled by from / to when shrinking).
pub fn box_windows(from: usize, to: usize) -> Vec<(u32, u32)> {
    let scale = from as f64 / to as f64;
    let filterscale = scale.max(1.0);
    let support = 0.5 * filterscale;
    (0..to)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let lo = ((center - support + 0.5) as i64).max(0) as usize;
            let hi = ((center + support + 0.5) as usize).min(from);
            let inside: Vec<usize> = (lo..hi).filter(|&x| {
                let t = (x as f64 - center + 0.5) / filterscale;
                t > -0.5 && t <= 0.5
            }).collect();
            match (inside.first(), inside.len()) {
                (Some(&first), n) => (first as u32, n as u32),
                // Cannot happen for from, to >= 1; the nearest pixel keeps the kernel in bounds.
                (None, _) => ((center as usize).min(from - 1) as u32, 1),
            }
        })
        .collect()
}

/// dst = src [n, c, h, w] shrunk to [dh, dw] and grown back, both with PIL's BOX filter.
pub fn pixelate(gpu: &Gpu, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], [dh, dw]: [usize; 2]) {
    let total = n * c * h * w;
    assert_eq!(src.numel(), total, "pixelate: src is not [{n}, {c}, {h}, {w}]");
    assert!((1..=h).contains(&dh) && (1..=w).contains(&dw), "pixelate: [{dh}, {dw}] is not within [1, 1]..[{h}, {w}]");
    let windows: Vec<u32> = box_windows(h, dh).into_iter().chain(box_windows(w, dw)).flat_map(|(a, b)| [a, b]).collect();
    let windows = gpu.upload_u32(&windows, &[windows.len()]);
    let p = Params { total: total as u32, c: c as u32, h: h as u32, w: w as u32, dh: dh as u32, dw: dw as u32, _p: [0; 2] };
    gpu.launch(&Kernel { shader: &SHIFT_BLOCK, entry: "pixelate" }, &[], &p, &[src, &windows, src, src, dst], grid_1d(total));
}

/// libjpeg's (and PIL's) quantisation tables at `quality` (1 to 100): the standard luminance
/// and chrominance tables (ITU T.81, Annex K) scaled by 5000 / quality below 50 and
/// 200 - 2 quality from 50, each step rounded and kept in [1, 255]; then the DCT basis
/// C(u) / 2 cos((2x + 1) u pi / 16) at [x * 8 + u]. The layout of `tables` in
/// shaders/shift_block.wgsl.
pub fn jpeg_tables(quality: u32) -> Vec<f32> {
    const LUMA: [u32; 64] = [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
        92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ];
    const CHROMA: [u32; 64] = [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ];
    let q = quality.clamp(1, 100);
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let steps = |t: &[u32; 64]| t.iter().map(|&v| ((v * scale + 50) / 100).clamp(1, 255) as f32).collect::<Vec<_>>();
    let basis = (0..64).map(|i| {
        let (x, u) = (i / 8, i % 8);
        let c = if u == 0 { std::f64::consts::FRAC_1_SQRT_2 } else { 1.0 };
        (0.5 * c * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos()) as f32
    });
    steps(&LUMA).into_iter().chain(steps(&CHROMA)).chain(basis).collect()
}

/// Coefficients of `jpeg`: [n, c, h, w] rounded up to whole 8x8 blocks.
pub fn jpeg_coefficients([n, c, h, w]: [usize; 4]) -> usize {
    n * c * h.div_ceil(8) * 8 * w.div_ceil(8) * 8
}

/// dst = src [n, c, h, w] compressed as baseline JPEG at `quality` and decoded (three channels
/// as YCbCr without chroma subsampling; others as greyscale each).
pub fn jpeg(gpu: &Gpu, src: &Tensor, dst: &Tensor, shape: [usize; 4], quality: u32) {
    let [n, c, h, w] = shape;
    let total = n * c * h * w;
    assert_eq!(src.numel(), total, "jpeg: src is not [{n}, {c}, {h}, {w}]");
    let tables = jpeg_tables(quality);
    let tables = gpu.upload(&tables, &[tables.len()]);
    let coef = gpu.empty(&[jpeg_coefficients(shape)]);
    let k = |entry| Kernel { shader: &SHIFT_BLOCK, entry };
    let mut p = Params { total: coef.numel() as u32, c: c as u32, h: h as u32, w: w as u32, dh: 0, dw: 0, _p: [0; 2] };
    gpu.launch(&k("jpeg_forward"), &[], &p, &[src, src, &tables, src, &coef], grid_1d(coef.numel()));
    p.total = total as u32;
    gpu.launch(&k("jpeg_inverse"), &[], &p, &[src, src, &tables, &coef, dst], grid_1d(total));
}
