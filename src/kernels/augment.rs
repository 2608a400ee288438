use super::shaders::AUGMENT;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    pad: u32,
    flip: u32,
    seed: u32,
    _pad: u32,
}

/// dst = src [n, c, h, w] with each example shifted by its own (dy, dx) in [-pad, pad]
/// (zeros shifted in: a random crop with zero padding) and, with `flip`, mirrored left to
/// right with probability 1/2; the draws come from `seed` and the example's index.
pub fn augment(gpu: &Gpu, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], pad: usize, flip: bool, seed: u32) {
    assert_eq!(src.numel(), n * c * h * w, "augment: src is not [{n}, {c}, {h}, {w}]");
    let p = Params { total: (n * c * h * w) as u32, c: c as u32, h: h as u32, w: w as u32, pad: pad as u32, flip: flip as u32, seed, _pad: 0 };
    let k = Kernel { shader: &AUGMENT, entry: "augment" };
    gpu.launch(&k, &[], &p, &[src, dst], grid_1d(n * c * h * w));
}
