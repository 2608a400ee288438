//! Packed ternary products with half-precision activations (`shaders/ternary_f16.wgsl`), and
//! the conversions into and out of half precision. Only on devices with shader-f16
//! (`Gpu::has_f16`); the tensors are `DType::F16`.

use super::shaders::TERNARY_F16;
use super::ternary::{launch_forward, Params, PackedTernary, TernaryVariant};
use super::layout::ActivationLayout;
use crate::gpu::{grid_1d, DType, Gpu, Kernel, Tensor};

fn kernel(entry: &'static str) -> Kernel {
    Kernel { shader: &TERNARY_F16, entry }
}

fn check_f16(gpu: &Gpu, what: &str, ts: &[&Tensor]) {
    assert!(gpu.has_f16(), "{what}: this adapter has no shader-f16 (check Gpu::has_f16 first)");
    assert!(ts.iter().all(|t| t.dtype() == DType::F16), "{what}: activations must be f16 tensors (Gpu::empty_f16)");
}

/// y[m, n] = sum_k x[m, k] * W[n, k] with x and y in half precision: `ternary_matmul`'s
/// product, summed in f16 within each packed word and in f32 across words.
pub fn ternary_matmul_f16(gpu: &Gpu, x: &Tensor, w: &PackedTernary, y: &Tensor, m: usize, layout: ActivationLayout) {
    check_f16(gpu, "ternary_matmul_f16", &[x, y]);
    launch_forward(gpu, &kernel("ternary_matmul_f16"), TernaryVariant::Narrow.shape(), x, w, y, m, layout);
}

fn convert(gpu: &Gpu, entry: &'static str, from: &Tensor, to: &Tensor) {
    let n = from.numel();
    assert!(to.numel() >= n, "{entry}: {} values into {}", n, to.numel());
    let p = Params { m: n as u32, n: 0, k: 0, words: 0, groups_y: 0, _pad: [0; 3] };
    // Bindings: 1 f16 in, 5 f16 out, 7 f32 in, 8 f32 out (the unused ones are skipped).
    gpu.launch(&kernel(entry), &[], &p, &[from, from, from, from, to, from, from, to], grid_1d(n));
}

/// h = f16(x), rounded to nearest.
pub fn to_f16(gpu: &Gpu, x: &Tensor, h: &Tensor) {
    check_f16(gpu, "to_f16", &[h]);
    convert(gpu, "f32_to_f16", x, h);
}

/// x = f32(h), exact.
pub fn to_f32(gpu: &Gpu, h: &Tensor, x: &Tensor) {
    check_f16(gpu, "to_f32", &[h]);
    convert(gpu, "f16_to_f32", h, x);
}
