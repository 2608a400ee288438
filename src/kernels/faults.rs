//! Launchers for `shaders/faults.wgsl`: random bit flips in stored weights, in place.

use super::shaders::FAULTS;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    seed: u32,
    rate: f32,
    _pad: u32,
}

/// Flip every bit of the 32-bit words of `t` (f32 or u32) with probability `rate`.
pub fn flip_bits(gpu: &Gpu, t: &Tensor, rate: f32, seed: u32) {
    let p = Params { n: t.numel() as u32, seed, rate, _pad: 0 };
    gpu.launch(&Kernel { shader: &FAULTS, entry: "flip_bits" }, &[], &p, &[t], grid_1d(t.numel()));
}

/// Round the f32 values of `t` to f16, flip every bit of those with probability `rate`, and
/// widen them back: a model stored in half precision.
pub fn flip_bits_f16(gpu: &Gpu, t: &Tensor, rate: f32, seed: u32) {
    let p = Params { n: t.numel() as u32, seed, rate, _pad: 0 };
    gpu.launch(&Kernel { shader: &FAULTS, entry: "flip_bits_f16" }, &[], &p, &[t], grid_1d(t.numel().div_ceil(2)));
}
