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
/// Channels per workgroup of bias_grad_rows and relu_bias_grad (`COLS` in the shader).
const COLS: usize = 64;
/// Most rows the column kernels take: each invocation loops over a quarter of them (and CPU
/// adapters cut loops off past 65,535 iterations); taller gradients go one workgroup per channel.
const COLUMN_ROWS: u32 = 1 << 16;

fn params(outer: usize, channels: usize, inner: usize) -> Params {
    Params { outer: outer as u32, channels: channels as u32, inner: inner as u32, accumulate: 0 }
}

/// x[o, c, i] += bias[c] in place, x viewed as [outer, channels, inner].
pub fn bias_add(gpu: &Gpu, x: &Tensor, bias: &Tensor, outer: usize, channels: usize, inner: usize) {
    let k = Kernel { shader: &BIAS, entry: "bias_add" };
    gpu.launch(&k, &[], &params(outer, channels, inner), &[x, bias], grid_1d(outer * channels * inner.div_ceil(RUN)));
}

/// x[o, c, i] = max(x[o, c, i] + bias[c], 0) in place: a layer's bias and the ReLU after it.
pub fn bias_relu(gpu: &Gpu, x: &Tensor, bias: &Tensor, outer: usize, channels: usize, inner: usize) {
    let k = Kernel { shader: &BIAS, entry: "bias_relu" };
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
    launch_grad(gpu, dy, dbias, &params(outer, channels, inner));
}

/// dbias[c] += sum over o, i of dy[o, c, i] (a loss with several terms).
pub fn bias_grad_accumulate(gpu: &Gpu, dy: &Tensor, dbias: &Tensor, outer: usize, channels: usize, inner: usize) {
    launch_grad(gpu, dy, dbias, &Params { accumulate: 1, ..params(outer, channels, inner) });
}

/// A linear layer's gradient ([outer, channels], inner = 1) by columns, a few channels per
/// workgroup; a convolution's (or a very tall one) by one workgroup per channel.
fn launch_grad(gpu: &Gpu, dy: &Tensor, dbias: &Tensor, p: &Params) {
    if p.inner == 1 && p.outer <= COLUMN_ROWS {
        let k = Kernel { shader: &BIAS, entry: "bias_grad_rows" };
        gpu.launch(&k, &[], p, &[dy, dbias], [(p.channels as usize).div_ceil(COLS) as u32, 1, 1]);
    } else {
        let k = Kernel { shader: &BIAS, entry: "bias_grad" };
        gpu.launch(&k, &[], p, &[dy, dbias], [p.channels, 1, 1]);
    }
}

/// The backward pass of y = relu(x + bias) for a linear layer's x [outer, channels]: dy *= (y >
/// 0) in place, and dbias[c] = the sum over o of the masked dy[o, c], in one pass.
pub fn relu_bias_grad(gpu: &Gpu, y: &Tensor, dy: &Tensor, dbias: &Tensor, outer: usize, channels: usize) {
    assert_eq!(y.numel(), outer * channels, "relu_bias_grad: y {:?} is not [{outer}, {channels}]", y.shape());
    if outer > COLUMN_ROWS as usize {
        super::relu_backward(gpu, y, dy);
        return bias_grad(gpu, dy, dbias, outer, channels, 1);
    }
    let k = Kernel { shader: &BIAS, entry: "relu_bias_grad" };
    gpu.launch(&k, &[], &params(outer, channels, 1), &[dy, dbias, y], [channels.div_ceil(COLS) as u32, 1, 1]);
}
