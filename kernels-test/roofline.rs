//! roofline.wgsl against `reference::roofline`: lengths a multiple of 4 around the 64-wide
//! workgroup, random, past the 65,535-group spill into y and one maximal 128 MiB binding.

use crate::common::*;
use aer::kernels;
use aer::reference::roofline as reference;

/// `sizes_1d` rounded up to whole vec4s, with the spill taken in vec4s (64 per workgroup).
fn sizes(test: &str) -> Vec<usize> {
    let mut s: Vec<usize> = sizes_1d(test).into_iter().filter(|&n| n < SPILL_1D).map(|n| n.div_ceil(4) * 4).collect();
    s.extend([(MAX_GROUPS * 64 + 1) * 4, MAX_BINDING_F32]);
    s
}

#[test]
fn fma_peak_matches_reference() {
    for (i, n) in sizes("fma_peak").into_iter().enumerate() {
        let x = uniform(&mut rng("fma_peak", i), n, -1.0, 1.0);
        // Long chains on the small sizes, a few steps on the large ones (the reference is slow).
        let iters = if n <= 100_000 { [0, 1, 37, 1000][i % 4] } else { 2 };
        let y = gpu().empty(&[n]);
        kernels::fma_peak(gpu(), &upload(&x), &y, iters);
        // Fused or not, each step rounds once or twice (2^-24 of values below 4) and the
        // chain forgets old errors only by 0.999 a step: eight chains of up to ~1000 steps.
        let tol = Tol { abs: 1e-6 * (1 + iters.min(1000)) as f64, rel: 1e-6 };
        assert_close("fma_peak y", &format!("n = {n}, iters = {iters}"), &read(&y), &reference::fma_peak(&x, iters), tol);
    }
}

#[test]
fn stream_copy_matches_reference() {
    for (i, n) in sizes("stream_copy").into_iter().enumerate() {
        let x = uniform(&mut rng("stream_copy", i), n, -1.0, 1.0);
        let y = gpu().empty(&[n]);
        kernels::stream_copy(gpu(), &upload(&x), &y);
        assert_close("stream_copy y", &format!("n = {n}"), &read(&y), &reference::stream_copy(&x), Tol::EXACT);
    }
}
