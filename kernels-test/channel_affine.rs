//! channel_affine.wgsl against `reference::channel_affine`: the per-channel map of the
//! `normalize` layer, forward and backward, on NCHW shapes around the workgroup and at the
//! largest binding.

use crate::common::*;
use aer::kernels;
use aer::reference::channel_affine as reference;
use rand::Rng;

/// (n, c, hw) cases: flat (hw 1), small images, off-workgroup totals, and one maximal binding
/// whose grid spills into y.
fn cases() -> Vec<(usize, usize, usize)> {
    let mut v = vec![(1, 1, 1), (2, 3, 1), (4, 3, 1024), (3, 1, 257), (128, 3, 28 * 28)];
    let mut r = rng("channel_affine_shape", 0);
    v.extend((0..20).map(|_| (r.random_range(1..9), r.random_range(1..70), r.random_range(1..300))));
    v.push((MAX_BINDING_F32 / (3 * 1024), 3, 1024));
    v
}

#[test]
fn channel_affine_matches_reference() {
    for (i, &(n, c, hw)) in cases().iter().enumerate() {
        let mut r = rng("channel_affine", i);
        let x = uniform(&mut r, n * c * hw, 0.0, 1.0);
        let scale = uniform(&mut r, c, 0.5, 5.0);
        let shift = uniform(&mut r, c, -3.0, 3.0);
        let (xt, at) = (upload(&x).reshape(&[n, c, hw]), upload(&[scale.clone(), shift.clone()].concat()));
        let y = gpu().empty(&[n, c, hw]);
        kernels::channel_affine(gpu(), &xt, &at, &y);
        // WGSL's fma may be fused (one rounding, as the reference) or not (a rounded product
        // of up to 5, then the add): 2^-24 * 5 plus one rounding of the result.
        assert_close("channel_affine y", &(n, c, hw), &read(&y), &reference::channel_affine(&x, &scale, &shift, hw), Tol { abs: 3.1e-7, rel: 6e-8 });
        let dx = gpu().empty(&[n, c, hw]);
        kernels::channel_scale(gpu(), &xt, &at, &dx);
        assert_close("channel_scale dx", &(n, c, hw), &read(&dx), &reference::channel_scale(&x, &scale, hw), Tol::EXACT);
    }
}
