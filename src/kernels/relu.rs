use super::shaders::RELU;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _pad: [u32; 3],
}

/// y = max(x, 0).
pub fn relu_forward(gpu: &Gpu, x: &Tensor, y: &Tensor) {
    let k = Kernel { shader: &RELU, entry: "relu_forward" };
    gpu.launch(&k, &[], &Params { n: x.numel() as u32, _pad: [0; 3] }, &[x, y], grid_1d(x.numel()));
}

/// dy *= (y > 0), in place.
pub fn relu_backward(gpu: &Gpu, y: &Tensor, dy: &Tensor) {
    let k = Kernel { shader: &RELU, entry: "relu_backward" };
    gpu.launch(&k, &[], &Params { n: y.numel() as u32, _pad: [0; 3] }, &[y, dy], grid_1d(y.numel()));
}
