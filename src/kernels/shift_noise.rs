use super::shaders::SHIFT_NOISE;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// The noises of `shaders/shift_noise.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noise {
    /// x + a z, z standard normal.
    Gaussian,
    /// Poisson(a x) / a.
    Shot,
    /// Each element replaced with probability a, by 0 or 1.
    Impulse,
}

impl Noise {
    fn entry(self) -> &'static str {
        match self {
            Noise::Gaussian => "gaussian_noise",
            Noise::Shot => "shot_noise",
            Noise::Impulse => "impulse_noise",
        }
    }
}

/// The largest Poisson mean shot noise draws exactly; above it, the normal approximation.
pub const SHOT_EXACT: f32 = 32.0;
/// The exact sampler's bound on its count.
pub const SHOT_MAX_STEPS: u32 = 128;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    d: u32,
    seed: u32,
    _p: u32,
    a: f32,
    _q: [f32; 3],
}

/// dst = `noise` of strength `a` on src [n, c, h, w] (values in [0, 1]), clipped to [0, 1];
/// each element's draws depend on (seed, its example, its index within the example).
pub fn shift_noise(gpu: &Gpu, noise: Noise, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], a: f32, seed: u32) {
    assert_eq!(src.numel(), n * c * h * w, "shift_noise: src is not [{n}, {c}, {h}, {w}]");
    let p = Params { total: (n * c * h * w) as u32, d: (c * h * w) as u32, seed, _p: 0, a, _q: [0.0; 3] };
    gpu.launch(&Kernel { shader: &SHIFT_NOISE, entry: noise.entry() }, &[], &p, &[src, dst], grid_1d(n * c * h * w));
}
