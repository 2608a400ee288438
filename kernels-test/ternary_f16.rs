//! ternary_f16.wgsl (packed ternary products with half-precision activations, and the
//! conversions to and from f16) against `reference::ternary_matmul_f16` and `round_f16`.
//! Adapters without shader-f16 skip these tests, saying so; lavapipe has it.
//!
//! Dyadic activations (multiples of 1/64 in [-1, 1]) are exact in f16, and so is each lane's
//! sum of four of them; the sums across words are exact in f32. Only the final rounding of y to
//! f16 may differ: WGSL lets a conversion round either way, so up to one f16 ULP (2^-10 |y|).

use crate::common::*;
use crate::ternary::{edge_cases, weights, Case};
use aer::kernels;
use aer::reference;
use rand::Rng;

const ONE_ULP: Tol = Tol { abs: 0.0, rel: 1.0 / 1024.0 };

fn has_f16(test: &str) -> bool {
    let ok = gpu().has_f16();
    if !ok {
        eprintln!("{test}: skipped, {} has no shader-f16", gpu().adapter_label());
    }
    ok
}

fn upload_f16(x: &[f32]) -> aer::gpu::Tensor {
    let h = gpu().empty_f16(&[x.len()]);
    kernels::to_f16(gpu(), &upload(x), &h);
    h
}

fn read_f16(t: &aer::gpu::Tensor) -> Vec<f32> {
    pollster::block_on(gpu().read_f16(t)).expect("read f16")
}

fn check(c: Case, seed: usize, x: Vec<f32>, tol: Tol) {
    let mut rng = rng("ternary_matmul_f16", seed);
    let w = weights(&mut rng, &c);
    let y = gpu().empty_f16(&[c.m * c.n]);
    kernels::ternary_matmul_f16(gpu(), &upload_f16(&x), &w.gpu, &y, c.m, c.layout);
    let want = reference::ternary_matmul_f16(&x, &w.t, &w.pos, &w.neg, c.m, c.n, c.k, c.layout);
    assert_close("ternary_matmul_f16 y", &c, &read_f16(&y), &want, tol);
}

/// The f32 kernel's edge shapes: every layout, one row and several, K off a word and a group,
/// N off the workgroup, all-zero rows, the cnn preset's convolutions.
#[test]
fn ternary_matmul_f16_matches_reference() {
    if !has_f16("ternary_matmul_f16_matches_reference") {
        return;
    }
    let cases = edge_cases();
    for (i, c) in cases.into_iter().enumerate() {
        let x = dyadic(&mut rng("ternary_matmul_f16 x", i), c.m * c.k);
        check(c, i, x, ONE_ULP);
    }
}

/// Activations that are not exact in f16: the kernel rounds them as the reference does, and its
/// per-word half-precision sums add at most a few ULP of the terms' magnitude.
#[test]
fn ternary_matmul_f16_rounds_like_half_precision() {
    if !has_f16("ternary_matmul_f16_rounds_like_half_precision") {
        return;
    }
    for i in 0..4 {
        let mut r = rng("ternary_matmul_f16 random", i);
        let c = Case {
            m: r.random_range(1..70),
            n: r.random_range(1..150),
            k: r.random_range(1..600),
            layout: LAYOUTS[r.random_range(0..4)],
            asymmetric: r.random(),
            zeros: r.random_range(0.0..0.8),
        };
        let x = uniform(&mut r, c.m * c.k, -2.0, 2.0);
        // |terms| <= 2 * 2 (scales up to 2), 4 per lane: each half-precision partial sum is
        // off by at most 2^-11 * 16, and there are K / 4 of them.
        let tol = Tol { abs: 16.0 / 2048.0 * (c.k as f64 / 4.0).ceil(), rel: 1.0 / 1024.0 };
        check(c, 100 + i, x, tol);
    }
}

#[test]
fn f16_conversions_round_to_nearest_and_widen_exactly() {
    if !has_f16("f16_conversions_round_to_nearest_and_widen_exactly") {
        return;
    }
    // Odd lengths (the last 32-bit word half used) and one whose grid spills into y; values
    // within f16's finite range (WGSL leaves conversions past it undefined).
    for (i, n) in [1usize, 3, 1000, SPILL_1D].into_iter().enumerate() {
        let x = uniform(&mut rng("f16 conversions", i), n, -60_000.0, 60_000.0);
        let h = upload_f16(&x);
        let want: Vec<f32> = x.iter().map(|&v| reference::round_f16(v)).collect();
        let back = gpu().empty(&[n]);
        kernels::to_f32(gpu(), &h, &back);
        assert_close("f32 -> f16 -> f32", &n, &read(&back), &want, ONE_ULP);
        assert_close("read_f16", &n, &read_f16(&h), &want, ONE_ULP);
    }
}
