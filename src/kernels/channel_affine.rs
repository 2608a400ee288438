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

fn params(x: &Tensor, affine: &Tensor) -> Params {
    let (s, c) = (x.shape(), affine.numel() / 2);
    assert!(s.len() >= 2 && s[1] == c && affine.numel() == 2 * c, "channel_affine: {s:?} with {} scale and shift values", affine.numel());
    Params { n: x.numel() as u32, hw: s[2..].iter().product::<usize>() as u32, c: c as u32, _pad: 0 }
}

/// y = x * scale[c] + shift[c] over an [n, c, ...] activation; affine = [scale c | shift c].
pub fn channel_affine(gpu: &Gpu, x: &Tensor, affine: &Tensor, y: &Tensor) {
    let k = Kernel { shader: &CHANNEL_AFFINE, entry: "channel_affine" };
    gpu.launch(&k, &[], &params(x, affine), &[x, affine, y], grid_1d(x.numel()));
}

/// dx = dy * scale[c]: the backward pass of `channel_affine` (the shift is not read).
pub fn channel_scale(gpu: &Gpu, dy: &Tensor, affine: &Tensor, dx: &Tensor) {
    let k = Kernel { shader: &CHANNEL_AFFINE, entry: "channel_scale" };
    gpu.launch(&k, &[], &params(dy, affine), &[dy, affine, dx], grid_1d(dy.numel()));
}
