use super::shaders::MAXPOOL;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    planes: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    _pad: [u32; 3],
}

/// Elements per invocation (`RUN` in the shader).
const RUN: usize = 32;

fn params(planes: usize, h: usize, w: usize) -> Params {
    Params { planes: planes as u32, h: h as u32, w: w as u32, oh: (h / 2) as u32, ow: (w / 2) as u32, _pad: [0; 3] }
}

/// y = 2x2/stride-2 max-pool of x (planes = N*C of size h x w); argmax records the winners.
pub fn maxpool2_forward(gpu: &Gpu, x: &Tensor, y: &Tensor, argmax: &Tensor, planes: usize, h: usize, w: usize) {
    let k = Kernel { shader: &MAXPOOL, entry: "maxpool_forward" };
    gpu.launch(&k, &[], &params(planes, h, w), &[x, y, argmax], grid_1d(planes * (h / 2) * (w / 2).div_ceil(RUN)));
}

/// dx (planes x h x w) from dy and the forward argmax.
pub fn maxpool2_backward(gpu: &Gpu, dy: &Tensor, dx: &Tensor, argmax: &Tensor, planes: usize, h: usize, w: usize) {
    let k = Kernel { shader: &MAXPOOL, entry: "maxpool_backward" };
    gpu.launch(&k, &[], &params(planes, h, w), &[dy, dx, argmax], grid_1d(planes * h * w.div_ceil(RUN)));
}
