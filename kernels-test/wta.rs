//! wta.wgsl (winners-take-all selection and masking) against `reference::wta`, with ties in the
//! channels' masses (exactly `keep` kept, the lower index first), one to the most channels a
//! layer may have, positions off the workgroup, and more examples than one grid dimension.

use crate::common::*;
use aer::kernels::{self, WtaShape, WTA_MAX_CHANNELS};
use aer::reference::wta as reference;
use rand::Rng;

fn check(s: WtaShape, seed: usize) {
    let mut r = rng("wta", seed);
    // Coarse values (multiples of 1/4, many zeros), so that masses tie often.
    let x: Vec<f32> = (0..s.n * s.c * s.hw).map(|_| if r.random_bool(0.3) { 0.0 } else { r.random_range(-4i32..=8) as f32 / 4.0 }).collect();
    let gx = upload(&x);
    let (mask, kept) = (gpu().full(&[s.n * s.c], f32::NAN), gpu().zeros_u32(&[s.n * s.keep]));
    kernels::wta_select(gpu(), s, &gx, &mask, &kept);
    let (want_mask, want_kept) = reference::wta_select(&x, s.n, s.c, s.hw, s.keep);
    assert_close("wta_select mask", &s, &read(&mask), &want_mask, Tol::EXACT);
    assert_same("wta_select kept", &s, &read_u32(&kept), &want_kept);
    let y = gpu().full(&[x.len()], f32::NAN);
    kernels::wta_apply(gpu(), s, &gx, &mask, &y);
    assert_close("wta_apply", &s, &read(&y), &reference::wta_apply(&x, &want_mask, s.hw), Tol::EXACT);
}

#[test]
fn wta_matches_reference() {
    let shapes = [(1, 1, 1, 1), (3, 16, 196, 8), (2, 16, 196, 4), (4, 32, 49, 16), (5, 256, 1, 64), (2, 300, 3, 299), (2, WTA_MAX_CHANNELS, 1, 700)];
    for (i, (n, c, hw, keep)) in shapes.into_iter().enumerate() {
        check(WtaShape { n, c, hw, keep }, i);
    }
}

#[test]
fn wta_grid_limits() {
    check(WtaShape { n: MAX_GROUPS + 2, c: 3, hw: 1, keep: 2 }, 100);
}

/// wta_apply alone (a drawn mask) on more rows than one grid dimension's invocations hold.
#[test]
fn wta_apply_grid_limits() {
    let s = WtaShape { n: 4097, c: 4096, hw: 1, keep: 1 };
    assert!(s.n * s.c > MAX_GROUPS * aer::gpu::WG_1D as usize);
    let mut r = rng("wta_apply", 0);
    let mask: Vec<f32> = (0..s.n * s.c).map(|_| if r.random_bool(0.5) { 1.0 } else { 0.0 }).collect();
    let x = dyadic(&mut r, s.n * s.c * s.hw);
    let y = gpu().full(&[x.len()], f32::NAN);
    kernels::wta_apply(gpu(), s, &upload(&x), &upload(&mask), &y);
    assert_close("wta_apply", &s, &read(&y), &reference::wta_apply(&x, &mask, s.hw), Tol::EXACT);
}
