use super::shaders::SHIFT_PATTERN;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// The drawn patterns of `shaders/shift_pattern.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// The k outermost columns on each side inverted.
    Stripe,
    /// k dotted lines across the image.
    DottedLine,
    /// k zigzags across the image.
    Zigzag,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    seed: u32,
    k: u32,
    _p: [u32; 2],
}

/// dst = src [n, c, h, w] (values in [0, 1]) with `pattern` drawn k times (stripe: k columns
/// a side); example e's lines depend on (seed, e).
pub fn shift_pattern(gpu: &Gpu, pattern: Pattern, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], k: u32, seed: u32) {
    assert_eq!(src.numel(), n * c * h * w, "shift_pattern: src is not [{n}, {c}, {h}, {w}]");
    let p = Params { total: (n * c * h * w) as u32, c: c as u32, h: h as u32, w: w as u32, seed, k, _p: [0; 2] };
    let entry = match pattern {
        Pattern::Stripe => "stripe",
        Pattern::DottedLine => "dotted_line",
        Pattern::Zigzag => "zigzag",
    };
    gpu.launch(&Kernel { shader: &SHIFT_PATTERN, entry }, &[], &p, &[src, dst], grid_1d(n * c * h * w));
}
