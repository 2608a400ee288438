use super::shaders::SPECTRUM;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};
use std::f64::consts::TAU;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    planes: u32,
    h: u32,
    w: u32,
}

/// The twiddles of `shaders/spectrum.wgsl`: cos and sin of 2 pi k / w (k < w), then of
/// 2 pi k / h, computed in f64.
pub fn spectrum_twiddles(h: usize, w: usize) -> Vec<f32> {
    let turn = |n: usize, f: fn(f64) -> f64| (0..n).map(move |k| f(TAU * k as f64 / n as f64) as f32);
    turn(w, f64::cos).chain(turn(w, f64::sin)).chain(turn(h, f64::cos)).chain(turn(h, f64::sin)).collect()
}

/// dst [h, w] = the mean over the n c planes of x [n, c, h, w] of the magnitude of each
/// plane's 2-D DFT (frequency (0, 0) at index 0). Takes 3 n c h w floats of scratch, which
/// must fit one storage binding: callers pass batches of at most `spectrum_max_planes`.
pub fn spectrum(gpu: &Gpu, x: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4]) {
    let planes = n * c;
    assert_eq!(x.numel(), planes * h * w, "spectrum: x is not [{n}, {c}, {h}, {w}]");
    assert_eq!(dst.numel(), h * w, "spectrum: dst is not [{h}, {w}]");
    let total = planes * h * w;
    let p = |total: usize| Params { total: total as u32, planes: planes as u32, h: h as u32, w: w as u32 };
    let twiddles = gpu.upload(&spectrum_twiddles(h, w), &[2 * (h + w)]);
    let rows = gpu.empty(&[total * 2]);
    let mags = gpu.empty(&[total]);
    let k = |entry| Kernel { shader: &SPECTRUM, entry };
    gpu.launch(&k("spectrum_rows"), &[], &p(total), &[x, &rows, &twiddles], grid_1d(total));
    gpu.launch(&k("spectrum_cols"), &[], &p(total), &[&rows, &mags, &twiddles], grid_1d(total));
    gpu.launch(&k("spectrum_mean"), &[], &p(h * w), &[&mags, dst], grid_1d(h * w));
}

/// The most planes of h x w that one `spectrum` call takes: its complex scratch (2 floats a
/// pixel) within a binding of `max_binding` bytes.
pub fn spectrum_max_planes(h: usize, w: usize, max_binding: u64) -> usize {
    ((max_binding / 4) as usize / (2 * h * w).max(1)).max(1)
}
