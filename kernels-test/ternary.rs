//! ternary.wgsl (products on packed ternary weights) against `reference::ternary`, and the
//! packed format's round trip.
//!
//! Activations are multiples of 1/64 and scales multiples of 1/8, so every product and every
//! partial sum is exact in f32 and the kernels must match the f64 references exactly, in any
//! order of summation.

use crate::common::*;
use aer::kernels::{self, ActivationLayout, PackedTernary, TernaryVariant};
use aer::kernels::packed;
use aer::reference;
use rand::rngs::StdRng;
use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub layout: ActivationLayout,
    pub asymmetric: bool,
    /// Share of zero weights.
    pub zeros: f64,
}

pub struct Weights {
    pub t: Vec<i8>,
    pub pos: Vec<f32>,
    pub neg: Vec<f32>,
    pub gpu: PackedTernary,
}

/// Random ternary weights for a case, with dyadic scales (multiples of 1/8), packed on the GPU.
pub fn weights(rng: &mut StdRng, c: &Case) -> Weights {
    let t: Vec<i8> = (0..c.n * c.k).map(|_| if rng.random_bool(c.zeros) { 0 } else if rng.random() { 1 } else { -1 }).collect();
    let pos: Vec<f32> = (0..c.n).map(|_| rng.random_range(1..=16) as f32 / 8.0).collect();
    let neg: Vec<f32> = if c.asymmetric { (0..c.n).map(|_| rng.random_range(1..=16) as f32 / 8.0).collect() } else { pos.clone() };
    let mut gpu = PackedTernary::upload(gpu(), &packed::pack(&t, c.n, c.k), &pos, &neg, c.n, c.k);
    // The kernel path under test, even where random scales happen to coincide.
    gpu.asymmetric = c.asymmetric;
    Weights { t, pos, neg, gpu }
}

fn check(c: Case, seed: usize) {
    let mut rng = rng("ternary_matmul", seed);
    let w = weights(&mut rng, &c);
    let x = dyadic(&mut rng, c.m * c.k);
    let want = reference::ternary_matmul(&x, &w.t, &w.pos, &w.neg, c.m, c.n, c.k, c.layout);
    for variant in [TernaryVariant::Narrow, TernaryVariant::Wide] {
        let y = gpu().full(&[c.m * c.n], f32::NAN);
        kernels::ternary_matmul_with(gpu(), variant, &upload(&x), &w.gpu, &y, c.m, c.layout);
        assert_close(&format!("ternary_matmul y ({variant:?})"), &c, &read(&y), &want, Tol::EXACT);
    }

    let dy = dyadic(&mut rng, c.m * c.n);
    let dx = gpu().full(&[c.m * c.k], f32::NAN);
    let y = gpu().full(&[c.m * c.n], f32::NAN);
    kernels::ternary_matmul_t(gpu(), &upload(&dy), &w.gpu, &dx, c.m, c.layout);
    let want = reference::ternary_matmul_t(&dy, &w.t, &w.pos, &w.neg, c.m, c.n, c.k, c.layout);
    assert_close("ternary_matmul_t dx", &c, &read(&dx), &want, Tol::EXACT);

    // |W| (interval bounds' radius product) in the same codes.
    let abs = w.gpu.abs(gpu());
    let w_abs: Vec<f32> = reference::ternary::dequantize(&w.t, &w.pos, &w.neg, c.n, c.k).iter().map(|v| v.abs()).collect();
    kernels::ternary_matmul(gpu(), &upload(&x), &abs, &y, c.m, c.layout);
    assert_close("ternary_matmul y, |W|", &c, &read(&y), &reference::weight_product(&x, &w_abs, c.m, c.n, c.k, c.layout), Tol::EXACT);
    kernels::ternary_matmul_t(gpu(), &upload(&dy), &abs, &dx, c.m, c.layout);
    assert_close("ternary_matmul_t dx, |W|", &c, &read(&dx), &reference::weight_product_t(&dy, &w_abs, c.m, c.n, c.k, c.layout), Tol::EXACT);

    // The dense weights the codes stand for (layers that run dense on unpacked weights).
    let dense = gpu().full(&[(c.n * c.k).max(1)], f32::NAN);
    kernels::ternary_unpack(gpu(), &w.gpu, &dense);
    assert_close("ternary_unpack", &c, &read(&dense)[..c.n * c.k], &reference::ternary::dequantize(&w.t, &w.pos, &w.neg, c.n, c.k), Tol::EXACT);
}

/// Every layout, symmetric and asymmetric scales, one row (the matrix-vector kernel) and
/// several (four rows per invocation, with a ragged last block); K off the 16 weights of a
/// word and the 4 of a decoded group; N off the 64-lane workgroup; all-zero and dense rows.
#[test]
fn ternary_matmul_edge_shapes() {
    for (i, c) in edge_cases().into_iter().enumerate() {
        check(c, i);
    }
}

/// The shapes of `ternary_matmul_edge_shapes`, shared with the f16 kernel's test.
pub fn edge_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for layout in LAYOUTS {
        for asymmetric in [false, true] {
            cases.push(Case { m: 1, n: 65, k: 37, layout, asymmetric, zeros: 0.3 });
            cases.push(Case { m: 6, n: 17, k: 16, layout, asymmetric, zeros: 0.3 });
        }
    }
    let plain = ActivationLayout::default();
    for (m, n, k, zeros) in [(1, 1, 1, 0.0), (4, 3, 15, 0.0), (5, 64, 17, 1.0), (9, 130, 100, 0.5), (130, 33, 300, 0.5), (3, 2, 4096, 0.4)] {
        cases.push(Case { m, n, k, layout: plain, asymmetric: true, zeros });
    }
    // The cnn preset's convolutions on 16 images: columns [c * 25, positions], y [out, positions].
    let conv = ActivationLayout { trans_x: true, trans_y: true };
    cases.push(Case { m: 16 * 784, n: 16, k: 25, layout: conv, asymmetric: true, zeros: 0.3 });
    cases.push(Case { m: 16 * 196, n: 32, k: 400, layout: conv, asymmetric: true, zeros: 0.3 });
    cases
}

#[test]
fn ternary_matmul_random_shapes() {
    for i in 0..8 {
        let mut rng = rng("ternary_matmul_random_shapes", i);
        let c = Case {
            m: rng.random_range(1..200),
            n: rng.random_range(1..200),
            k: rng.random_range(1..400),
            layout: LAYOUTS[rng.random_range(0..4)],
            asymmetric: rng.random(),
            zeros: rng.random_range(0.0..1.0),
        };
        check(c, 100 + i);
    }
}

/// Grids past 65,535 workgroups in one dimension, which the launchers spread into the next:
/// more than 4 x 65,535 rows for the forward kernel (four rows per invocation), more than
/// 65,535 for the input gradient, more than 64 x 65,535 for the kernels with a row per lane.
#[test]
fn ternary_matmul_grid_limits() {
    check(Case { m: 4 * 65_535 + 5, n: 2, k: 3, layout: ActivationLayout { trans_x: true, trans_y: true }, asymmetric: true, zeros: 0.2 }, 200);
    check(Case { m: 4 * 65_535 + 5, n: 2, k: 3, layout: ActivationLayout::LINEAR, asymmetric: true, zeros: 0.2 }, 201);
    // Activations stored [K, M] run one row per lane: 64 x 65,535 rows fill the x dimension.
    check(Case { m: 64 * 65_535 + 7, n: 2, k: 3, layout: ActivationLayout { trans_x: true, trans_y: false }, asymmetric: false, zeros: 0.2 }, 202);
    // A large ternary_unpack (one invocation per word): 16.8 M weights (67 MB of output, within
    // the 128 MiB binding limit, which keeps its grid far below 65,535 workgroups).
    check(Case { m: 1, n: 4099, k: 4097, layout: ActivationLayout::LINEAR, asymmetric: true, zeros: 0.3 }, 203);
}

#[test]
fn ternary_pack_round_trips_and_rejects_corrupt_words() {
    for (i, (n, k)) in [(1, 1), (3, 16), (5, 17), (2, 100), (7, 33)].into_iter().enumerate() {
        let mut r = rng("ternary_pack_round_trip", i);
        let t: Vec<i8> = (0..n * k).map(|_| r.random_range(-1..=1)).collect();
        let words = packed::pack(&t, n, k);
        assert_eq!(words.len(), n * k.div_ceil(16));
        assert_eq!(packed::unpack(&words, n, k).unwrap(), t, "[{n}, {k}]");
    }
    // Code 10, and a set padding bit past k = 17 (bit 2 * 1 of the row's second word).
    assert!(packed::unpack(&[0b10], 1, 1).is_err());
    assert!(packed::unpack(&[0, 0b100], 1, 17).is_err());
    assert!(packed::unpack(&[0], 2, 1).is_err(), "wrong word count");
}
