//! gradient_similarity.wgsl (per-example gradient cosines, similarity-unpairing's
//! finite-difference points and per-row scaling) against `reference::gradient_similarity`, on
//! rows shorter and longer than the 256-lane workgroup, rows of zeros, more rows than one grid
//! dimension holds, and a 1-D grid that spills into y.

use crate::common::*;
use aer::kernels::{self, UnpairWeights};
use aer::reference::gradient_similarity as reference;

/// Norms and dot products summed in another order than the f64 reference, then a square root
/// and a division.
const STATS: Tol = Tol { abs: 2e-6, rel: 2e-6 };
/// Two divisions, a product and an add per coordinate; the weights a product and a division.
const POINTS: Tol = Tol { abs: 1e-6, rel: 1e-6 };

fn check(n: usize, d: usize, seed: usize) {
    let mut r = rng("gradient_similarity", seed);
    let mut a = uniform(&mut r, n * d, -1.0, 1.0);
    let b = uniform(&mut r, n * d, -1.0, 1.0);
    let x = uniform(&mut r, n * d, 0.0, 1.0);
    // The first row of a is all zeros (an example whose input gradient vanished); with more
    // than two rows, the second row of a is b's (cos 1) and the third is below min_norm.
    a[..d].iter_mut().for_each(|v| *v = 0.0);
    if n > 2 {
        a[d..2 * d].copy_from_slice(&b[d..2 * d]);
        a[2 * d..3 * d].iter_mut().for_each(|v| *v *= 1e-6);
    }
    let case = (n, d);
    let (ga, gb) = (gpu().upload(&a, &[n, d]), gpu().upload(&b, &[n, d]));
    let stats = gpu().full(&[n, 4], f32::NAN);
    kernels::row_cosine(gpu(), &ga, &gb, &stats, n, d);
    let got = read(&stats);
    assert_close("row_cosine", &case, &got, &reference::row_cosine(&a, &b, n), STATS);

    let (points, weights) = (gpu().empty(&[3 * n, d]), gpu().empty(&[3 * n]));
    let w = UnpairWeights { clean: 3.0, pair: 0.7, min_norm: 1e-4 };
    kernels::unpair_points(gpu(), &gpu().upload(&x, &[n, d]), &ga, &gb, &stats, &points, &weights, 0.01, w, n, d);
    // The reference starts from the GPU's stats, so only this kernel's rounding is compared.
    let (want_points, want_weights) = reference::unpair_points(&x, &a, &b, &got, 0.01, w.clean, w.pair, w.min_norm);
    assert_close("unpair_points points", &case, &read(&points), &want_points, POINTS);
    assert_close("unpair_points weights", &case, &read(&weights), &want_weights, POINTS);

    let m = uniform(&mut r, 3 * n * 7, -2.0, 2.0);
    let gm = gpu().upload(&m, &[3 * n, 7]);
    kernels::scale_rows(gpu(), &gm, &weights, 3 * n);
    // One correctly rounded product per value.
    assert_close("scale_rows", &case, &read(&gm), &reference::scale_rows(&m, &read(&weights)), Tol::EXACT);
}

#[test]
fn gradient_similarity_kernels_match_reference() {
    for (i, (n, d)) in [(1, 1), (3, 5), (10, 256), (7, 257), (32, 784), (4, 5000)].into_iter().enumerate() {
        check(n, d, i);
    }
}

#[test]
fn gradient_similarity_grid_limits() {
    check(MAX_GROUPS + 3, 2, 100);
    // scale_rows over more elements than one grid dimension of 1-D groups holds.
    let mut r = rng("gradient_similarity", 101);
    let (rows, cols) = (SPILL_1D.div_ceil(3), 3);
    let m = uniform(&mut r, rows * cols, -1.0, 1.0);
    let w = uniform(&mut r, rows, -2.0, 2.0);
    let gm = gpu().upload(&m, &[rows, cols]);
    kernels::scale_rows(gpu(), &gm, &upload(&w), rows);
    assert_close("scale_rows", &"spill", &read(&gm), &reference::scale_rows(&m, &w), Tol::EXACT);
}
