//! Launchers for `shaders/act_threshold.wgsl`: learned activation thresholds (JPnet).

use super::shaders::ACT_THRESHOLD;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    numel: u32,
    groups: u32,
    sparsity: f32,
    rate: f32,
    l1_grad: f32,
    _pad: [u32; 3],
}

/// Workgroups of `threshold_stats` (each strides over the tensor), and so partial sums.
pub const THRESHOLD_GROUPS: usize = 256;

fn params(numel: usize) -> Params {
    Params { numel: numel as u32, groups: numel.div_ceil(256).clamp(1, THRESHOLD_GROUPS) as u32, sparsity: 0.0, rate: 0.0, l1_grad: 0.0, _pad: [0; 3] }
}

fn kernel(entry: &'static str) -> Kernel {
    Kernel { shader: &ACT_THRESHOLD, entry }
}

/// y = x where x > theta[0], else 0.
pub fn threshold_forward(gpu: &Gpu, x: &Tensor, theta: &Tensor, y: &Tensor) {
    let n = x.numel();
    assert!(y.numel() >= n && theta.numel() >= 1, "threshold_forward: y smaller than x, or no theta");
    gpu.launch(&kernel("threshold_forward"), &[], &params(n), &[x, theta, y, x, theta], grid_1d(n));
}

/// dx = dy + l1_grad where the forward output y is positive, else 0.
pub fn threshold_backward(gpu: &Gpu, y: &Tensor, dy: &Tensor, l1_grad: f32, dx: &Tensor) {
    let n = y.numel();
    assert!(dy.numel() >= n && dx.numel() >= n, "threshold_backward: dy or dx smaller than y");
    gpu.launch(&kernel("threshold_backward"), &[], &Params { l1_grad, ..params(n) }, &[y, y, dx, dy], grid_1d(n));
}

/// One learning step of theta from the forward output y: theta = max(0, theta + rate *
/// (theta + mean(y)) * (sparsity - share of zeros in y)). `partial` holds 2 * THRESHOLD_GROUPS floats.
pub fn threshold_learn(gpu: &Gpu, y: &Tensor, theta: &Tensor, sparsity: f32, rate: f32, partial: &Tensor) {
    let p = Params { sparsity, rate, ..params(y.numel()) };
    assert!(partial.numel() >= 2 * p.groups as usize, "threshold_learn: partial holds {} floats, needs {}", partial.numel(), 2 * p.groups);
    gpu.launch(&kernel("threshold_stats"), &[], &p, &[y, theta, y, partial], [p.groups, 1, 1]);
    gpu.launch(&kernel("threshold_learn"), &[], &p, &[y, theta, y, partial], [1, 1, 1]);
}
