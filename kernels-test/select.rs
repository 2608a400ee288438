//! select.wgsl against `reference::select` and mask.wgsl against `reference::apply_mask`: magnitude keys, and exact top-k selection (its
//! five entry points run together) with ties at the threshold, k = 0 and k = n, excluded
//! (zero) keys, and a grid that spills into y.

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

#[test]
fn apply_mask_matches_reference() {
    for (i, n) in [1usize, 255, 257, 100_003, SPILL_1D + 3].into_iter().enumerate() {
        let mut r = rng("apply_mask", i);
        let mut x = uniform(&mut r, n, -2.0, 2.0);
        x[0] = f32::NAN;
        let mask: Vec<f32> = (0..n).map(|j| if j == 0 || r.random_range(0..3) == 0 { 0.0 } else { 1.0 }).collect();
        let t = upload(&x);
        kernels::apply_mask(gpu(), &upload(&mask), &t);
        assert_close("apply_mask", &n, &read(&t), &aer::reference::apply_mask(&mask, &x), Tol::EXACT);
    }
}

#[test]
fn mask_union_and_restrict_keys_match_reference() {
    for (i, n) in [1usize, 257, 100_003, SPILL_1D + 3].into_iter().enumerate() {
        let mut r = rng("mask_union", i);
        let a: Vec<f32> = (0..n).map(|_| r.random_range(0..2) as f32).collect();
        let b: Vec<f32> = (0..n).map(|_| r.random_range(0..2) as f32).collect();
        let t = upload(&b);
        kernels::mask_union(gpu(), &upload(&a), &t);
        assert_close("mask_union", &n, &read(&t), &aer::reference::mask_union(&a, &b), Tol::EXACT);
        let keys: Vec<u32> = (0..n).map(|_| r.random()).collect();
        for (which, active) in [(kernels::Candidates::Active, true), (kernels::Candidates::Inactive, false)] {
            let k = gpu().upload_u32(&keys, &[n]);
            kernels::restrict_keys(gpu(), &k, &t, which);
            assert_same("restrict_keys", &(n, active), &read_u32(&k), &reference::restrict_keys(&keys, &read(&t), active));
        }
    }
}

/// N:M masks (2:4, 1:4, 4:8, 1:1 and 3:3 on rows off the group size): few distinct
/// magnitudes with both signs, so ties to the lower index decide often.
#[test]
fn nm_mask_matches_reference() {
    let cases = [(1, 1, 1, 1), (3, 8, 2, 4), (5, 10, 2, 4), (4, 33, 1, 4), (2, 64, 4, 8), (7, 9, 3, 3), (300, 1568, 2, 4)];
    for (i, (rows, k, keep, group)) in cases.into_iter().enumerate() {
        let mut r = rng("nm_mask", i);
        let w: Vec<f32> = (0..rows * k).map(|_| r.random_range(-3i32..=3) as f32 / 2.0).collect();
        let mask = gpu().full(&[rows * k], f32::NAN);
        kernels::nm_mask(gpu(), &upload(&w), k, keep, group, &mask);
        let case = (rows, k, keep, group);
        let want = aer::reference::nm_mask(&w, k, keep, group);
        assert_close("nm_mask", &case, &read(&mask), &want, Tol::EXACT);
        // Every full group keeps exactly `keep`.
        for row in want.chunks(k) {
            for g in row.chunks(group).filter(|g| g.len() == group) {
                assert_eq!(g.iter().sum::<f32>() as usize, keep, "{case:?}");
            }
        }
    }
}
