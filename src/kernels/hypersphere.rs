//! Launchers for `shaders/hypersphere.wgsl`: HQ's rows on a hypersphere (their norms, the
//! projection back onto it, and the reinitialisation to the ternary point).

use super::shaders::HYPERSPHERE;
use crate::gpu::{Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    groups_x: u32,
    _pad: u32,
}

/// One workgroup per row of `w` viewed as [n, k] (a convolution's [out, in * kh * kw]), the
/// grid folded into y past 65,535 rows.
fn launch(gpu: &Gpu, entry: &'static str, w: &Tensor, radius: &Tensor) {
    let n = w.shape().first().copied().unwrap_or(1);
    let k = w.numel() / n.max(1);
    assert!(radius.numel() >= n, "{entry}: {} radii for {n} rows", radius.numel());
    if n == 0 || k == 0 {
        return;
    }
    let gx = n.min(65_535);
    let p = Params { n: n as u32, k: k as u32, groups_x: gx as u32, _pad: 0 };
    gpu.launch(&Kernel { shader: &HYPERSPHERE, entry }, &[], &p, &[w, radius], [gx as u32, n.div_ceil(gx) as u32, 1]);
}

/// radius[row] = ||w_row||.
pub fn row_norms(gpu: &Gpu, w: &Tensor, radius: &Tensor) {
    launch(gpu, "row_norms", w, radius);
}

/// Every nonzero row of `w` scaled back to norm radius[row].
pub fn sphere_project(gpu: &Gpu, w: &Tensor, radius: &Tensor) {
    launch(gpu, "sphere_project", w, radius);
}

/// The nonzero weights of each row set to sign(w) * radius[row] / sqrt(nonzeros in the row).
pub fn ternary_reinit(gpu: &Gpu, w: &Tensor, radius: &Tensor) {
    launch(gpu, "ternary_reinit", w, radius);
}
