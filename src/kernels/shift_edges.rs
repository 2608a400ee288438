use super::shaders::SHIFT_EDGES;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    h: u32,
    w: u32,
    _p: u32,
    low: f32,
    high: f32,
    a: f32,
    _q: f32,
}

/// skimage.feature.canny's thresholds for float images (10% and 20% of the range).
pub const CANNY_LOW: f32 = 0.1;
pub const CANNY_HIGH: f32 = 0.2;

/// Hysteresis steps for h x w images: weak edges connect to strong ones over this many pixels.
pub fn canny_steps(h: usize, w: usize) -> usize {
    h + w
}

/// dst = (1 - a) src + a edges, edges the Canny edge map (0 or 1) of each channel of src
/// [n, c, h, w] with thresholds (low, high) on the gradient magnitude.
pub fn canny_edges(gpu: &Gpu, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], low: f32, high: f32, a: f32) {
    let total = n * c * h * w;
    assert_eq!(src.numel(), total, "canny_edges: src is not [{n}, {c}, {h}, {w}]");
    let p = Params { total: total as u32, h: h as u32, w: w as u32, _p: 0, low, high, a, _q: 0.0 };
    let k = |entry| Kernel { shader: &SHIFT_EDGES, entry };
    let (smooth, mut state, mut next) = (gpu.empty(&[total]), gpu.empty(&[total]), gpu.empty(&[total]));
    gpu.launch(&k("canny_smooth"), &[], &p, &[src, src, &smooth], grid_1d(total));
    gpu.launch(&k("canny_classify"), &[], &p, &[src, &smooth, &state], grid_1d(total));
    for _ in 0..canny_steps(h, w) {
        gpu.launch(&k("canny_grow"), &[], &p, &[src, &state, &next], grid_1d(total));
        std::mem::swap(&mut state, &mut next);
    }
    gpu.launch(&k("canny_finish"), &[], &p, &[src, &state, dst], grid_1d(total));
}
