//! Launchers for `shaders/batchnorm.wgsl`: a batch normalization layer's per-channel scale
//! and shift (from the batch in training, from the running statistics in evaluation), which
//! `channel_affine` then applies.

use super::shaders::BATCHNORM;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    hw: u32,
    _pad: u32,
    momentum: f32,
    eps: f32,
    _pad2: [u32; 2],
}

/// The shape a batch normalization layer sees: n examples of c channels of hw values.
#[derive(Clone, Copy, Debug)]
pub struct NormShape {
    pub n: usize,
    pub c: usize,
    pub hw: usize,
}

impl NormShape {
    /// Of an [n, c] or [n, c, h, w] activation.
    pub fn of(x: &Tensor) -> NormShape {
        let s = x.shape();
        NormShape { n: s[0], c: s[1], hw: s[2..].iter().product() }
    }
}

/// A layer's tensors: gamma, beta [c] (parameters), the running mean and variance [c], the
/// statistics kept for the backward pass [2c] (mean, then 1 / sqrt(var + eps)), and the
/// scale and shift `channel_affine` applies [2c].
pub struct NormTensors<'a> {
    pub gamma: &'a Tensor,
    pub beta: &'a Tensor,
    pub running_mean: &'a Tensor,
    pub running_var: &'a Tensor,
    pub stats: &'a Tensor,
    pub scale_shift: &'a Tensor,
}

fn launch(gpu: &Gpu, entry: &'static str, s: NormShape, momentum: f32, eps: f32, x: &Tensor, t: &NormTensors, grid: [u32; 3]) {
    let p = Params { n: s.n as u32, c: s.c as u32, hw: s.hw as u32, _pad: 0, momentum, eps, _pad2: [0; 2] };
    gpu.launch(&Kernel { shader: &BATCHNORM, entry }, &[], &p, &[x, t.gamma, t.beta, t.running_mean, t.running_var, t.stats, t.scale_shift], grid);
}

/// Training: the batch statistics of x, the scale and shift from them, and the running
/// statistics moved toward them by `momentum`.
pub fn bn_train_stats(gpu: &Gpu, s: NormShape, x: &Tensor, t: &NormTensors, momentum: f32, eps: f32) {
    assert!(s.c <= 65_535, "batch normalization over {} channels: at most 65,535", s.c);
    launch(gpu, "bn_train_stats", s, momentum, eps, x, t, [s.c as u32, 1, 1]);
}

/// Evaluation: scale, shift and stats from the running statistics (x is bound, not read).
pub fn bn_eval_affine(gpu: &Gpu, s: NormShape, x: &Tensor, t: &NormTensors, eps: f32) {
    launch(gpu, "bn_eval_affine", s, 0.0, eps, x, t, grid_1d(s.c));
}
