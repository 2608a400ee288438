//! Launchers for `shaders/wta.wgsl`: winners-take-all activation sparsity (DASNet).

use super::shaders::WTA;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    hw: u32,
    keep: u32,
}

/// Positions per invocation of `wta_apply` (`RUN` in the shader).
const APPLY_RUN: usize = 32;

/// Most channels (or units) a winners-take-all layer may select from.
pub const WTA_MAX_CHANNELS: usize = 1024;

/// The shape of an activation WTA selects in: `n` examples of `c` channels of `hw` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WtaShape {
    pub n: usize,
    pub c: usize,
    pub hw: usize,
    pub keep: usize,
}

impl WtaShape {
    fn params(&self) -> Params {
        Params { n: self.n as u32, c: self.c as u32, hw: self.hw as u32, keep: self.keep as u32 }
    }
}

/// Per example, the `keep` channels of x [n, c, hw] with the largest L1 mass (ties to the lower
/// index): mask [n, c] (1 kept, 0 dropped) and kept [n, keep] (their indices, ascending).
pub fn wta_select(gpu: &Gpu, s: WtaShape, x: &Tensor, mask: &Tensor, kept: &Tensor) {
    assert!(s.c <= WTA_MAX_CHANNELS && s.keep <= s.c, "wta_select: keep {} of {} channels (at most {WTA_MAX_CHANNELS})", s.keep, s.c);
    assert!(x.numel() >= s.n * s.c * s.hw && mask.numel() >= s.n * s.c && kept.numel() >= s.n * s.keep, "wta_select {s:?}: operand too small");
    let gx = s.n.clamp(1, 65_535);
    gpu.launch(&Kernel { shader: &WTA, entry: "wta_select" }, &[], &s.params(), &[x, mask, kept], [gx as u32, s.n.div_ceil(gx) as u32, 1]);
}

/// y = x * mask[n, c] at every position (forward; backward with dy as x).
pub fn wta_apply(gpu: &Gpu, s: WtaShape, x: &Tensor, mask: &Tensor, y: &Tensor) {
    let total = s.n * s.c * s.hw;
    assert!(x.numel() >= total && y.numel() >= total && mask.numel() >= s.n * s.c, "wta_apply {s:?}: operand too small");
    gpu.launch(&Kernel { shader: &WTA, entry: "wta_apply" }, &[], &s.params(), &[x, x, x, y, mask], grid_1d(s.n * s.c * s.hw.div_ceil(APPLY_RUN)));
}
