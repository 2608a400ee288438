//! act_threshold.wgsl (learned activation thresholds) against `reference::act_threshold`, on
//! sizes off the workgroup, larger than the stats kernel's groups cover in one stride, and past
//! one grid dimension.

use crate::common::*;
use aer::kernels;
use aer::reference::act_threshold as reference;
use rand::Rng;

fn check(n: usize, theta: f32, seed: usize) {
    let mut r = rng("act_threshold", seed);
    // ReLU outputs: a third exact zeros, the rest in (0, 2).
    let x: Vec<f32> = (0..n).map(|_| if r.random_bool(0.33) { 0.0 } else { r.random_range(1e-3f32..2.0) }).collect();
    let (gx, gtheta) = (upload(&x), upload(&[theta]));
    let y = gpu().full(&[n], f32::NAN);
    kernels::threshold_forward(gpu(), &gx, &gtheta, &y);
    let want_y = reference::threshold_forward(&x, theta);
    assert_close("threshold_forward", &(n, theta), &read(&y), &want_y, Tol::EXACT);
    let dy = uniform(&mut r, n, -1.0, 1.0);
    let dx = gpu().full(&[n], f32::NAN);
    kernels::threshold_backward(gpu(), &y, &upload(&dy), 0.125, &dx);
    assert_close("threshold_backward", &(n, theta), &read(&dx), &reference::threshold_backward(&want_y, &dy, 0.125), Tol::EXACT);
    let partial = gpu().zeros(&[2 * kernels::THRESHOLD_GROUPS]);
    kernels::threshold_learn(gpu(), &y, &gtheta, 0.8, 0.1, &partial);
    let want = reference::threshold_learn(&want_y, theta, 0.8, 0.1);
    assert_close("threshold_learn", &(n, theta), &read(&gtheta), &[want], Tol { abs: 1e-7, rel: 1e-5 });
}

#[test]
fn act_threshold_matches_reference() {
    for (i, (n, theta)) in [(1, 0.0), (255, 0.5), (257, 0.0), (256 * 256 * 3 + 7, 1.0), (10_000, 5.0)].into_iter().enumerate() {
        check(n, theta, i);
    }
}

#[test]
fn act_threshold_grid_limits() {
    check(SPILL_1D, 0.3, 100);
}

/// Repeated steps on a fixed input settle theta where the target share of zeros is reached.
#[test]
fn threshold_learning_reaches_the_target_sparsity() {
    let mut r = rng("threshold_learning", 0);
    let x: Vec<f32> = (0..20_000).map(|_| if r.random_bool(0.3) { 0.0 } else { r.random_range(1e-3f32..2.0) }).collect();
    let (gx, theta, y, partial) = (upload(&x), gpu().zeros(&[1]), gpu().empty(&[x.len()]), gpu().zeros(&[2 * kernels::THRESHOLD_GROUPS]));
    for _ in 0..300 {
        kernels::threshold_forward(gpu(), &gx, &theta, &y);
        kernels::threshold_learn(gpu(), &y, &theta, 0.8, 0.2, &partial);
    }
    let zeros = reference::threshold_forward(&x, read(&theta)[0]).iter().filter(|&&v| v == 0.0).count() as f64 / x.len() as f64;
    assert!((zeros - 0.8).abs() < 0.02, "after 300 steps theta {} zeroes {zeros:.3} of the activations, not 0.8", read(&theta)[0]);
}
