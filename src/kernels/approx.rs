//! Launchers for `shaders/approx.wgsl`: weight products through an 8-bit multiplier's
//! product table (per-tensor symmetric quantization of both operands).

use super::layout::ActivationLayout;
use super::shaders::APPROX;
use super::ternary::grid_yz;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    slot: u32,
    layout: u32,
    groups_y: u32,
    _pad: [u32; 2],
}

/// Entries of a product table: signed 8-bit operands a, b at ((a & 255) << 8) | (b & 255).
pub const TABLE_ENTRIES: usize = 65_536;

const MAX_PARTIALS: usize = 1024;

fn kernel(entry: &'static str) -> Kernel {
    Kernel { shader: &APPROX, entry }
}

/// maxima[slot] = max |x|.
pub fn absmax(gpu: &Gpu, x: &Tensor, maxima: &Tensor, slot: usize) {
    let n = x.numel();
    let groups = n.div_ceil(256).clamp(1, MAX_PARTIALS);
    let partials = gpu.empty(&[groups]);
    let p = Params { m: n as u32, ..Default::default() };
    gpu.launch(&kernel("absmax_partial"), &[], &p, &[x, x, x, &partials], [groups as u32, 1, 1]);
    let p = Params { m: groups as u32, slot: slot as u32, ..Default::default() };
    gpu.launch(&kernel("absmax_final"), &[], &p, &[x, x, maxima, &partials], [1, 1, 1]);
}

/// codes (i32) = round(x * 127 / maxima[slot]), in [-127, 127].
pub fn quantize_i8(gpu: &Gpu, x: &Tensor, maxima: &Tensor, slot: usize, codes: &Tensor) {
    let p = Params { m: x.numel() as u32, slot: slot as u32, ..Default::default() };
    gpu.launch(&kernel("quantize_i8"), &[], &p, &[x, codes, maxima], grid_1d(x.numel()));
}

/// y = (maxima[0] / 127) (maxima[1] / 127) sum_k table[qx, qw]: the product of `lut_matmul`'s
/// codes qx (m activation rows of k, laid out as `layout`) and qw [n, k].
#[allow(clippy::too_many_arguments)]
pub fn lut_matmul(gpu: &Gpu, qx: &Tensor, qw: &Tensor, table: &Tensor, maxima: &Tensor, y: &Tensor, m: usize, n: usize, k: usize, layout: ActivationLayout) {
    assert_eq!(table.numel(), TABLE_ENTRIES, "a product table has 256 x 256 entries");
    let (gy, gz) = grid_yz(m);
    let p = Params { m: m as u32, n: n as u32, k: k as u32, layout: layout.trans_x as u32 | (layout.trans_y as u32) << 1, groups_y: gy, ..Default::default() };
    gpu.launch(&kernel("lut_matmul"), &[], &p, &[qx, qx, maxima, maxima, qx, qw, table, y], [n.div_ceil(64) as u32, gy, gz]);
}

/// y = x W^T (as `Weights::apply`) with both operands quantized to 8 bits and multiplied
/// through `table` (i32 [65536]).
#[allow(clippy::too_many_arguments)]
pub fn approx_product(gpu: &Gpu, x: &Tensor, w: &Tensor, table: &Tensor, y: &Tensor, m: usize, n: usize, k: usize, layout: ActivationLayout) {
    let maxima = gpu.empty(&[2]);
    absmax(gpu, x, &maxima, 0);
    absmax(gpu, w, &maxima, 1);
    let (qx, qw) = (gpu.empty_u32(&[x.numel()]), gpu.empty_u32(&[w.numel()]));
    quantize_i8(gpu, x, &maxima, 0, &qx);
    quantize_i8(gpu, w, &maxima, 1, &qw);
    lut_matmul(gpu, &qx, &qw, table, &maxima, y, m, n, k, layout);
}
