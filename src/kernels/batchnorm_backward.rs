//! Launchers for `shaders/batchnorm_backward.wgsl`.

use super::batchnorm::NormShape;
use super::shaders::BATCHNORM_BACKWARD;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    hw: u32,
    _pad: u32,
}

fn params(s: NormShape) -> Params {
    Params { n: s.n as u32, c: s.c as u32, hw: s.hw as u32, _pad: 0 }
}

/// The backward pass's tensors: the layer's input and output gradient, the statistics the
/// forward pass kept [2c], gamma [c], the sums [2c] (dgamma, then dbeta) and dx.
pub struct NormGrads<'a> {
    pub x: &'a Tensor,
    pub dy: &'a Tensor,
    pub stats: &'a Tensor,
    pub gamma: &'a Tensor,
    pub sums: &'a Tensor,
    pub dx: &'a Tensor,
}

fn launch(gpu: &Gpu, entry: &'static str, s: NormShape, t: &NormGrads, grid: [u32; 3]) {
    gpu.launch(&Kernel { shader: &BATCHNORM_BACKWARD, entry }, &[], &params(s), &[t.x, t.dy, t.stats, t.gamma, t.sums, t.dx], grid);
}

/// sums = [dgamma | dbeta]: per channel sum dy * (x - mean) * invstd and sum dy. `dx` is
/// bound, not written.
pub fn bn_backward_reduce(gpu: &Gpu, s: NormShape, t: &NormGrads) {
    assert!(s.c <= 65_535, "batch normalization over {} channels: at most 65,535", s.c);
    launch(gpu, "bn_backward_reduce", s, t, [s.c as u32, 1, 1]);
}

/// dx through the batch statistics of a training pass, from `bn_backward_reduce`'s sums.
pub fn bn_backward_dx(gpu: &Gpu, s: NormShape, t: &NormGrads) {
    launch(gpu, "bn_backward_dx", s, t, grid_1d(s.n * s.c * s.hw));
}
