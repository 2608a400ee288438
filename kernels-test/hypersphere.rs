//! hypersphere.wgsl (HQ's row norms, projection onto the sphere and ternary reinitialisation)
//! against `reference::hypersphere`, on rows shorter and longer than the 256-lane workgroup,
//! rows of zeros, and more rows than one grid dimension holds.

use crate::common::*;
use aer::kernels;
use aer::reference::hypersphere as reference;
use rand::Rng;

/// A norm's square root and one division (or a sqrt of the count), after a sum in another
/// order.
const TOL: Tol = Tol { abs: 1e-7, rel: 2e-6 };

fn check(n: usize, k: usize, seed: usize) {
    let mut r = rng("hypersphere", seed);
    let mut w = uniform(&mut r, n * k, -1.0, 1.0);
    // Pruned weights, and the first row pruned entirely.
    for (i, v) in w.iter_mut().enumerate() {
        if i < k || r.random_bool(0.4) {
            *v = 0.0;
        }
    }
    let case = (n, k);
    let gw = gpu().upload(&w, &[n, k]);
    let radius = gpu().full(&[n], f32::NAN);
    kernels::row_norms(gpu(), &gw, &radius);
    assert_close("row_norms", &case, &read(&radius), &reference::row_norms(&w, n), TOL);

    let target: Vec<f32> = (0..n).map(|_| r.random_range(0.5f32..2.0)).collect();
    let gt = upload(&target);
    kernels::sphere_project(gpu(), &gw, &gt);
    let projected = reference::sphere_project(&w, &target);
    assert_close("sphere_project", &case, &read(&gw), &projected, TOL);

    kernels::ternary_reinit(gpu(), &gw, &gt);
    assert_close("ternary_reinit", &case, &read(&gw), &reference::ternary_reinit(&projected, &target), TOL);
}

#[test]
fn hypersphere_kernels_match_reference() {
    for (i, (n, k)) in [(1, 1), (3, 5), (10, 256), (7, 257), (32, 400), (4, 5000)].into_iter().enumerate() {
        check(n, k, i);
    }
}

#[test]
fn hypersphere_grid_limits() {
    check(MAX_GROUPS + 3, 2, 100);
}
