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

/// dx (planes x h x w) from dy and the forward argmax. With `relu` = the pool's output y, for
/// a pool over a ReLU's output: that ReLU's backward pass too (no gradient where y is 0).
pub fn maxpool2_backward(gpu: &Gpu, dy: &Tensor, dx: &Tensor, argmax: &Tensor, relu: Option<&Tensor>, planes: usize, h: usize, w: usize) {
    let k = Kernel { shader: &MAXPOOL, entry: "maxpool_backward" };
    // (Without the ReLU, dy stands in for the pooled output's binding.)
    let pooled = relu.unwrap_or(dy);
    let relu = [("RELU", relu.is_some() as u32 as f64)];
    gpu.launch(&k, &relu, &params(planes, h, w), &[dy, dx, argmax, pooled], grid_1d(planes * h.div_ceil(2) * w.div_ceil(2).div_ceil(RUN)));
}
