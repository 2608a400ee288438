//! Launchers for `shaders/channel_skip.wgsl`: weight products that read only the input channels
//! winners-take-all kept for each example.

use super::shaders::CHANNEL_SKIP;
use crate::gpu::{grid_1d_of, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    m: u32,
    k: u32,
    keep: u32,
    g: u32,
    p: u32,
    _pad: [u32; 2],
}

/// Threads per workgroup of both kernels (`WG` in the shader).
const WG: u32 = 64;

/// A product of weights w [m, k] with `n` examples whose input channels are `k / g` groups of
/// `g` consecutive inputs, `keep` of them kept per example, over `p` output positions (1 for a
/// linear layer, oh * ow for a convolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkipShape {
    pub n: usize,
    pub m: usize,
    pub k: usize,
    pub g: usize,
    pub keep: usize,
    pub p: usize,
}

impl SkipShape {
    fn params(&self) -> Params {
        Params { n: self.n as u32, m: self.m as u32, k: self.k as u32, keep: self.keep as u32, g: self.g as u32, p: self.p as u32, _pad: [0; 2] }
    }

    /// Whole vec4s of positions per example: the convolution kernels load four at once.
    fn vec4(&self) -> [(&'static str, f64); 1] {
        [("VEC4", self.p.is_multiple_of(4) as u32 as f64)]
    }

    /// Multiply-adds executed: the kept inputs only.
    pub fn macs(&self) -> usize {
        self.n * self.m * self.keep * self.g * self.p
    }

    fn check(&self, what: &str, w: &Tensor, kept: &Tensor, y: &Tensor) {
        assert!(self.g > 0 && self.k % self.g == 0 && self.keep <= self.k / self.g, "{what} {self:?}: keep at most k / g channels of g inputs");
        assert!(w.numel() >= self.m * self.k && kept.numel() >= self.n * self.keep && y.numel() >= self.n * self.m * self.p, "{what} {self:?}: operand too small");
    }
}

/// y [n, m] = w [m, k] x [n, k] over the kept channels of each example only (`kept` u32
/// [n, keep]; channel c is inputs c*g .. c*g + g).
pub fn skip_linear(gpu: &Gpu, s: SkipShape, w: &Tensor, x: &Tensor, kept: &Tensor, y: &Tensor) {
    assert!(s.p == 1, "skip_linear {s:?}: a linear layer has one position");
    s.check("skip_linear", w, kept, y);
    assert!(x.numel() >= s.n * s.k, "skip_linear {s:?}: x smaller than [n, k]");
    let grid = grid_1d_of(s.n * s.m.div_ceil(4), WG);
    gpu.launch(&Kernel { shader: &CHANNEL_SKIP, entry: "skip_linear" }, &[], &s.params(), &[w, x, kept, y], grid);
}

/// y [n, m, p] = w [m, k] times each example's columns in cols [keep*g, n*p] (`im2col_kept`:
/// row j*g + q is tap q of kept channel `kept[n, j]`).
pub fn skip_conv(gpu: &Gpu, s: SkipShape, w: &Tensor, cols: &Tensor, kept: &Tensor, y: &Tensor) {
    s.check("skip_conv", w, kept, y);
    assert!(cols.numel() >= s.keep * s.g * s.n * s.p, "skip_conv {s:?}: cols smaller than [keep*g, n*p]");
    let grid = grid_1d_of(s.n * s.m.div_ceil(16) * s.p.div_ceil(16), WG);
    gpu.launch(&Kernel { shader: &CHANNEL_SKIP, entry: "skip_conv" }, &s.vec4(), &s.params(), &[w, cols, kept, y, cols, cols], grid);
}

/// dcols [keep*g, n*p] = the input gradient of `skip_conv` for dy [n, m, p], in `im2col_kept`'s
/// rows (row j*g + q: tap q of kept channel `kept[n, j]`); `col2im_kept` takes it to dx.
pub fn skip_conv_backward_data(gpu: &Gpu, s: SkipShape, w: &Tensor, dy: &Tensor, kept: &Tensor, dcols: &Tensor) {
    s.check("skip_conv_backward_data", w, kept, dy);
    assert!(dcols.numel() >= s.keep * s.g * s.n * s.p, "skip_conv_backward_data {s:?}: dcols smaller than [keep*g, n*p]");
    let grid = grid_1d_of(s.n * (s.keep * s.g).div_ceil(16) * s.p.div_ceil(16), WG);
    gpu.launch(&Kernel { shader: &CHANNEL_SKIP, entry: "skip_conv_backward_data" }, &s.vec4(), &s.params(), &[w, dy, kept, dcols, dy], grid);
}

/// dw [m, k] = the weight gradient of `skip_conv` for dy [n, m, p] and its columns cols
/// [keep*g, n*p] (`im2col_kept`): every example's product with the columns it kept, added
/// up per weight over the examples that kept its channel; zero for a channel none kept.
/// `p` must be a multiple of 4 (`skips_weight_grad`).
pub fn skip_conv_weight_grad(gpu: &Gpu, s: SkipShape, dy: &Tensor, cols: &Tensor, kept: &Tensor, dw: &Tensor) {
    assert!(skips_weight_grad(&s), "skip_conv_weight_grad {s:?}: positions per example must be a multiple of 4");
    s.check("skip_conv_weight_grad", dw, kept, dy);
    assert!(cols.numel() >= s.keep * s.g * s.n * s.p, "skip_conv_weight_grad {s:?}: cols smaller than [keep*g, n*p]");
    let rows = s.keep * s.g;
    if s.n * s.m * rows == 0 {
        gpu.fill_zero(dw);
        return;
    }
    let partial = gpu.empty(&[s.n, s.m, rows]);
    let grid = grid_1d_of(s.n * s.m.div_ceil(8) * rows.div_ceil(8), WG);
    gpu.launch(&Kernel { shader: &CHANNEL_SKIP, entry: "skip_conv_weight_grad" }, &[], &s.params(), &[dy, dy, dy, &partial, dy, cols], grid);
    let slots = gpu.zeros_u32(&[s.n, s.k / s.g]);
    let grid = grid_1d_of(s.n * s.keep, WG);
    gpu.launch(&Kernel { shader: &CHANNEL_SKIP, entry: "kept_slots" }, &[], &s.params(), &[kept, kept, kept, kept, kept, kept, &slots], grid);
    let grid = grid_1d_of(s.m * s.k, WG);
    gpu.launch(&Kernel { shader: &CHANNEL_SKIP, entry: "skip_weight_grad_reduce" }, &[], &s.params(), &[&partial, &partial, &partial, dw, &partial, &partial, &slots], grid);
}

/// Whether `skip_conv_weight_grad` takes this shape: whole vec4s of positions per example.
pub fn skips_weight_grad(s: &SkipShape) -> bool {
    s.p.is_multiple_of(4)
}
