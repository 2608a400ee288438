use super::shaders::BIAS;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    outer: u32,
    channels: u32,
    inner: u32,
    accumulate: u32,
}

/// Inner positions per invocation of bias_add (`RUN` in the shader).
const RUN: usize = 32;

fn params(outer: usize, channels: usize, inner: usize) -> Params {
    Params { outer: outer as u32, channels: channels as u32, inner: inner as u32, accumulate: 0 }
}

/// x[o, c, i] += bias[c] in place, x viewed as [outer, channels, inner].
pub fn bias_add(gpu: &Gpu, x: &Tensor, bias: &Tensor, outer: usize, channels: usize, inner: usize) {
    let k = Kernel { shader: &BIAS, entry: "bias_add" };
    gpu.launch(&k, &[], &params(outer, channels, inner), &[x, bias], grid_1d(outer * channels * inner.div_ceil(RUN)));
}

/// x += other, elementwise, in place (`bias_add` with one channel per element): a residual
/// block's sum.
pub fn add_assign(gpu: &Gpu, x: &Tensor, other: &Tensor) {
    assert_eq!(x.numel(), other.numel(), "add_assign: {:?} += {:?}", x.shape(), other.shape());
    bias_add(gpu, x, other, 1, x.numel(), 1);
}

/// dbias[c] = sum over o, i of dy[o, c, i].
pub fn bias_grad(gpu: &Gpu, dy: &Tensor, dbias: &Tensor, outer: usize, channels: usize, inner: usize) {
    let k = Kernel { shader: &BIAS, entry: "bias_grad" };
    gpu.launch(&k, &[], &params(outer, channels, inner), &[dy, dbias], [channels as u32, 1, 1]);
}

/// dbias[c] += sum over o, i of dy[o, c, i] (a loss with several terms).
pub fn bias_grad_accumulate(gpu: &Gpu, dy: &Tensor, dbias: &Tensor, outer: usize, channels: usize, inner: usize) {
    let k = Kernel { shader: &BIAS, entry: "bias_grad" };
    let p = Params { accumulate: 1, ..params(outer, channels, inner) };
    gpu.launch(&k, &[], &p, &[dy, dbias], [channels as u32, 1, 1]);
}
