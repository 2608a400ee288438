use super::shaders::SHIFT_WARP;
use super::shift_blur::Border;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    border: u32,
    _pad: [u32; 3],
}

fn launch(gpu: &Gpu, entry: &'static str, [n, c, h, w]: [usize; 4], border: Border, tensors: &[&Tensor]) {
    let total = n * c * h * w;
    let p = Params { total: total as u32, c: c as u32, h: h as u32, w: w as u32, border: border as u32, _pad: [0; 3] };
    gpu.launch(&Kernel { shader: &SHIFT_WARP, entry }, &[], &p, tensors, grid_1d(total));
}

/// dst [n, c, h, w] = src sampled bilinearly at example e's inverse map of each output pixel:
/// column a x + b y + tx, row c x + d y + ty, `maps` [n, 6] = (a, b, tx, c, d, ty); pixels
/// outside read by `border`. Clamped to [0, 1].
pub fn affine_warp(gpu: &Gpu, src: &Tensor, maps: &Tensor, dst: &Tensor, shape: [usize; 4], border: Border) {
    assert_eq!(maps.numel(), 6 * shape[0], "affine_warp: maps must be [n, 6]");
    launch(gpu, "affine_warp", shape, border, &[src, dst, maps]);
}

/// dst [n, c, h, w] = src sampled bilinearly at (y + dy, x + dx), `field` [n, 2, h, w] holding
/// dx then dy; pixels outside read by `border`. Clamped to [0, 1].
pub fn displace(gpu: &Gpu, src: &Tensor, field: &Tensor, dst: &Tensor, shape: [usize; 4], border: Border) {
    let [n, _, h, w] = shape;
    assert_eq!(field.numel(), n * 2 * h * w, "displace: field must be [n, 2, h, w]");
    launch(gpu, "displace", shape, border, &[src, dst, field]);
}
