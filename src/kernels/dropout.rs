use super::shaders::DROPOUT;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    seed: u32,
    rate: f32,
    _pad: u32,
}

/// dst = src / (1 - rate) where the mask of `seed` keeps an element, 0 elsewhere: the forward
/// pass (x to y) and, with the same seed, the backward pass (dy to dx).
pub fn dropout(gpu: &Gpu, src: &Tensor, dst: &Tensor, rate: f32, seed: u32) {
    assert!((0.0..1.0).contains(&rate), "dropout rate {rate} outside [0, 1)");
    let k = Kernel { shader: &DROPOUT, entry: "dropout" };
    gpu.launch(&k, &[], &Params { n: src.numel() as u32, seed, rate, _pad: 0 }, &[src, dst], grid_1d(src.numel()));
}
