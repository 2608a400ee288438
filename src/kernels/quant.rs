use super::shaders::QUANT;
use super::ternary::{words_per_row, PackedTernary};
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    groups: u32,
    group_size: u32,
    words: u32,
    /// ternary_relax's lambda, channel_lasso's mu.
    weight: f32,
    _pad: [u32; 2],
}

/// How a ternary quantizer sets each group's threshold delta.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdRule {
    /// delta = factor * mean |w| (TWN: 0.7).
    MeanAbs(f32),
    /// delta = factor * max |w| (TTQ: 0.05).
    MaxAbs(f32),
}

/// A weight tensor [n, k] quantized in `groups` groups of consecutive rows: 1 (one scale per
/// layer) or n (one per output channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TernaryGroups {
    pub n: usize,
    pub k: usize,
    pub groups: usize,
}

impl TernaryGroups {
    fn params(&self) -> Params {
        assert!(self.groups > 0 && self.n.is_multiple_of(self.groups), "{} rows do not split into {} groups", self.n, self.groups);
        Params {
            n: self.n as u32,
            k: self.k as u32,
            groups: self.groups as u32,
            group_size: (self.n / self.groups * self.k) as u32,
            words: words_per_row(self.k) as u32,
            weight: 0.0,
            _pad: [0; 2],
        }
    }
}

fn kernel(entry: &'static str) -> Kernel {
    Kernel { shader: &QUANT, entry }
}

/// Each group's threshold into `delta`; with `write_scales`, also alpha (the mean |w| above
/// the threshold) into both scales.
#[allow(clippy::too_many_arguments)]
pub fn ternary_threshold(gpu: &Gpu, g: TernaryGroups, rule: ThresholdRule, w: &Tensor, delta: &Tensor, scale_pos: &Tensor, scale_neg: &Tensor, write_scales: bool) {
    let (code, factor) = match rule {
        ThresholdRule::MeanAbs(f) => (0.0, f),
        ThresholdRule::MaxAbs(f) => (1.0, f),
    };
    let overrides = [("RULE", code), ("FACTOR", factor as f64), ("WRITE_SCALES", write_scales as u32 as f64)];
    gpu.launch(&kernel("ternary_threshold"), &overrides, &g.params(), &[w, delta, scale_pos, scale_neg], [g.groups as u32, 1, 1]);
}

/// wq = +scale_pos where w > delta, -scale_neg where w < -delta, 0 in between (per group).
pub fn ternarize(gpu: &Gpu, g: TernaryGroups, w: &Tensor, delta: &Tensor, scale_pos: &Tensor, scale_neg: &Tensor, wq: &Tensor) {
    gpu.launch(&kernel("ternarize"), &[], &g.params(), &[w, delta, scale_pos, scale_neg, wq], grid_1d(g.n * g.k));
}

/// TTQ's backward pass: `grad` holds dL/dwq and becomes the latent weights' gradient in place;
/// the scales' gradients go to `grad_pos` and `grad_neg` (one per group).
#[allow(clippy::too_many_arguments)]
pub fn ternary_ste(gpu: &Gpu, g: TernaryGroups, w: &Tensor, delta: &Tensor, scale_pos: &Tensor, scale_neg: &Tensor, grad: &Tensor, grad_pos: &Tensor, grad_neg: &Tensor) {
    gpu.launch(&kernel("ternary_ste"), &[], &g.params(), &[w, delta, scale_pos, scale_neg, grad, grad_pos, grad_neg], [g.groups as u32, 1, 1]);
}

/// The packed form of the ternarized w (codes from the thresholds, scales expanded per row).
pub fn ternary_pack(gpu: &Gpu, g: TernaryGroups, w: &Tensor, delta: &Tensor, scale_pos: &Tensor, scale_neg: &Tensor, asymmetric: bool) -> PackedTernary {
    let words = words_per_row(g.k);
    let out = PackedTernary {
        words: gpu.empty_u32(&[g.n, words]),
        scale_pos: gpu.empty(&[g.n]),
        scale_neg: gpu.empty(&[g.n]),
        n: g.n,
        k: g.k,
        asymmetric,
    };
    gpu.launch(
        &kernel("ternary_pack"),
        &[],
        &g.params(),
        &[w, delta, scale_pos, scale_neg, w, w, w, &out.words, &out.scale_pos, &out.scale_neg],
        grid_1d(g.n * words),
    );
    out
}

/// BinaryRelax: `wq` (the ternary projection of `w`, from `ternarize`) becomes
/// (w + lambda * wq) / (1 + lambda).
pub fn ternary_relax(gpu: &Gpu, g: TernaryGroups, w: &Tensor, wq: &Tensor, lambda: f32) {
    let p = Params { weight: lambda, ..g.params() };
    gpu.launch(&kernel("ternary_relax"), &[], &p, &[w, w, w, w, wq], grid_1d(g.n * g.k));
}

/// The channel-sparsity term's gradient: `grad` += mu * w_row / ||w_row|| for each output
/// channel (row of the [n, k] weight) with a non-zero norm.
pub fn channel_lasso(gpu: &Gpu, g: TernaryGroups, w: &Tensor, grad: &Tensor, mu: f32) {
    let p = Params { weight: mu, ..g.params() };
    gpu.launch(&kernel("channel_lasso"), &[], &p, &[w, w, w, w, grad], [g.n as u32, 1, 1]);
}
