//! select.wgsl against `reference::select`: magnitude keys, exact top-k selection (its five
//! entry points run together) with ties at the threshold, k = 0 and k = n, excluded (zero)
//! keys, and a grid that spills into y, and the restriction of keys to candidates.

use crate::common::*;
use aer::kernels;
use aer::reference::select as reference;
use rand::Rng;

#[test]
fn magnitude_keys_match_reference() {
    let mut r = rng("magnitude_keys", 0);
    let mut v = uniform(&mut r, 10_000, -3.0, 3.0);
    v.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MIN_POSITIVE, 1e-40]);
    let keys = gpu().empty_u32(&[v.len()]);
    kernels::magnitude_keys(gpu(), &upload(&v), &keys);
    assert_same("magnitude_keys", &v.len(), &read_u32(&keys), &reference::magnitude_keys(&v));
}

#[test]
fn select_top_k_keeps_exactly_k() {
    let mut cases: Vec<(usize, u32, usize)> = vec![(1, 5, 0), (1, 5, 1), (7, 1, 3), (256, 3, 100), (257, 2, 257), (300, 1000, 299)];
    for i in 0..14 {
        let mut r = rng("select_top_k_cases", i);
        let n = r.random_range(1..=200_000);
        // Few distinct keys: many ties at the threshold.
        let range = if i % 2 == 0 { r.random_range(2..=20) } else { u32::MAX };
        cases.push((n, range, r.random_range(0..=n)));
    }
    // 65,535 workgroups per dimension: the grid spills into y.
    cases.push((SPILL_1D + 7, 50, SPILL_1D / 3));
    for (i, &(n, range, k)) in cases.iter().enumerate() {
        let mut r = rng("select_top_k", i);
        // Key 0 (excluded) appears too; k stays within the non-zero keys.
        let keys: Vec<u32> = (0..n).map(|_| if range == u32::MAX { r.random::<u32>() } else { r.random_range(0..range) }).collect();
        let k = k.min(keys.iter().filter(|&&x| x > 0).count());
        let mask = gpu().empty(&[n]);
        kernels::select_top_k(gpu(), &gpu().upload_u32(&keys, &[n]), k, &mask);
        let got = read(&mask);
        let case = (n, range, k);
        assert_eq!(got.iter().filter(|&&m| m == 1.0).count(), k, "kept count; case {case:?}");
        assert_close("select_top_k mask", &case, &got, &reference::select_top_k(&keys, k), Tol::EXACT);
    }
}

/// Keys outside the candidates (the active entries of a 0/1 mask, or the inactive ones) set
/// to 0, so that selection skips them.
#[test]
fn restrict_keys_matches_reference() {
    for (i, n) in [1usize, 257, 100_003, SPILL_1D + 3].into_iter().enumerate() {
        let mut r = rng("restrict_keys", i);
        let mask: Vec<f32> = (0..n).map(|_| r.random_range(0..2) as f32).collect();
        let keys: Vec<u32> = (0..n).map(|_| r.random()).collect();
        for (which, active) in [(kernels::Candidates::Active, true), (kernels::Candidates::Inactive, false)] {
            let k = gpu().upload_u32(&keys, &[n]);
            kernels::restrict_keys(gpu(), &k, &upload(&mask), which);
            assert_same("restrict_keys", &(n, active), &read_u32(&k), &reference::restrict_keys(&keys, &mask, active));
        }
    }
}
