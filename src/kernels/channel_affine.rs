use super::shaders::CHANNEL_AFFINE;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    hw: u32,
    c: u32,
    _pad: u32,
}

fn params(x: &Tensor, c: usize) -> Params {
    let s = x.shape();
    assert!(s.len() >= 2 && s[1] == c, "channel_affine: {s:?} has not {c} channels");
    Params { n: x.numel() as u32, hw: s[2..].iter().product::<usize>() as u32, c: c as u32, _pad: 0 }
}

/// y = x * scale[c] + shift[c] over an [n, c, ...] activation.
pub fn channel_affine(gpu: &Gpu, x: &Tensor, scale: &Tensor, shift: &Tensor, y: &Tensor) {
    let k = Kernel { shader: &CHANNEL_AFFINE, entry: "channel_affine" };
    gpu.launch(&k, &[], &params(x, scale.numel()), &[x, scale, shift, y], grid_1d(x.numel()));
}

/// dx = dy * scale[c]: the backward pass of `channel_affine` (`shift` is bound, not read).
pub fn channel_scale(gpu: &Gpu, dy: &Tensor, scale: &Tensor, shift: &Tensor, dx: &Tensor) {
    let k = Kernel { shader: &CHANNEL_AFFINE, entry: "channel_scale" };
    gpu.launch(&k, &[], &params(dy, scale.numel()), &[dy, scale, shift, dx], grid_1d(dy.numel()));
}
