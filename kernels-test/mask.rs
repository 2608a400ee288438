//! mask.wgsl against `reference::mask`: masking, the union of two masks, and N:M masks.

use crate::common::*;
use aer::kernels;
use aer::reference::mask as reference;
use rand::Rng;

#[test]
fn apply_mask_matches_reference() {
    for (i, n) in [1usize, 255, 257, 100_003, SPILL_1D + 3].into_iter().enumerate() {
        let mut r = rng("apply_mask", i);
        let mut x = uniform(&mut r, n, -2.0, 2.0);
        x[0] = f32::NAN;
        let mask: Vec<f32> = (0..n).map(|j| if j == 0 || r.random_range(0..3) == 0 { 0.0 } else { 1.0 }).collect();
        let t = upload(&x);
        kernels::apply_mask(gpu(), &upload(&mask), &t);
        assert_close("apply_mask", &n, &read(&t), &reference::apply_mask(&mask, &x), Tol::EXACT);
    }
}

#[test]
fn mask_union_matches_reference() {
    for (i, n) in [1usize, 257, 100_003, SPILL_1D + 3].into_iter().enumerate() {
        let mut r = rng("mask_union", i);
        let a: Vec<f32> = (0..n).map(|_| r.random_range(0..2) as f32).collect();
        let b: Vec<f32> = (0..n).map(|_| r.random_range(0..2) as f32).collect();
        let t = upload(&b);
        kernels::mask_union(gpu(), &upload(&a), &t);
        assert_close("mask_union", &n, &read(&t), &reference::mask_union(&a, &b), Tol::EXACT);
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
