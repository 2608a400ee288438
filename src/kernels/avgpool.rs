use super::shaders::AVGPOOL;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    planes: u32,
    hw: u32,
    _pad: [u32; 2],
}

/// y[plane] = mean of x's `hw` values of that plane (planes = n * c).
pub fn global_avgpool_forward(gpu: &Gpu, x: &Tensor, y: &Tensor, planes: usize, hw: usize) {
    let k = Kernel { shader: &AVGPOOL, entry: "global_avgpool_forward" };
    gpu.launch(&k, &[], &Params { planes: planes as u32, hw: hw as u32, _pad: [0; 2] }, &[x, y], grid_1d(planes));
}

/// dx[plane, i] = dy[plane] / hw.
pub fn global_avgpool_backward(gpu: &Gpu, dy: &Tensor, dx: &Tensor, planes: usize, hw: usize) {
    let k = Kernel { shader: &AVGPOOL, entry: "global_avgpool_backward" };
    gpu.launch(&k, &[], &Params { planes: planes as u32, hw: hw as u32, _pad: [0; 2] }, &[dy, dx], grid_1d(planes * hw));
}
