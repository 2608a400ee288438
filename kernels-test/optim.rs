//! optim.wgsl: SGD (momentum, Nesterov, weight decay) and Adam/AdamW against
//! `reference::{sgd, adam}`, over several steps with fresh gradients, checked after each.

use crate::common::*;
use aer::kernels::{self, AdamParams, SgdParams};
use aer::reference;
use rand::Rng;

const STEPS: usize = 3;

/// A few roundings of O(1) terms per step; the GPU may contract a*b+c into one fma.
const W_TOL: Tol = Tol { abs: 2e-6, rel: 1e-5 };

fn sizes(test: &str) -> Vec<usize> {
    let mut sizes = vec![1, 255, 256, 257];
    let mut r = rng(test, 0);
    sizes.extend((0..27).map(|_| r.random_range(1..20_000)));
    // Past the 65,535-group spill into y.
    sizes.push(SPILL_1D);
    sizes
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug in failure messages
struct Case<P> {
    n: usize,
    step: usize,
    params: P,
}

#[test]
fn sgd_matches_reference() {
    for (i, n) in sizes("sgd").into_iter().enumerate() {
        let mut r = rng("sgd", i + 1);
        let params = SgdParams {
            lr: r.random_range(0.001..0.5),
            // Plain SGD, the usual 0.9, and anything between.
            momentum: [0.0, 0.9, r.random_range(0.0..0.99)][i % 3],
            weight_decay: [0.0, 5e-4, 0.05][(i / 3) % 3],
            nesterov: i % 2 == 1,
        };
        let mut w = uniform(&mut r, n, -1.0, 1.0);
        let mut buf = vec![0.0; n];
        let gpu = gpu();
        let (tw, tbuf) = (upload(&w), upload(&buf));
        for step in 1..=STEPS {
            let g = uniform(&mut r, n, -1.0, 1.0);
            kernels::sgd(gpu, &tw, &upload(&g), &tbuf, &params);
            reference::sgd(&mut w, &g, &mut buf, &params);
            let case = Case { n, step, params };
            assert_close("sgd w", &case, &read(&tw), &w, W_TOL);
            assert_close("sgd momentum", &case, &read(&tbuf), &buf, W_TOL);
        }
    }
}

#[test]
fn adam_matches_reference() {
    for (i, n) in sizes("adam").into_iter().enumerate() {
        let mut r = rng("adam", i + 1);
        let (beta1, beta2) =
            if i % 3 == 2 { (r.random_range(0.5..0.95), r.random_range(0.9..0.9999)) } else { (0.9, 0.999) };
        let mut params = AdamParams {
            lr: r.random_range(1e-4..1e-2),
            beta1,
            beta2,
            eps: 1e-8,
            weight_decay: [0.0, 0.01, 0.1][(i / 3) % 3],
            decoupled: i % 2 == 1,
            step: 0,
        };
        // Gradients from tiny to O(1): the update is scale-free only while v >> eps^2.
        let g_scale = 10f32.powf(r.random_range(-4.0..0.0));
        let mut w = uniform(&mut r, n, -1.0, 1.0);
        let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
        let gpu = gpu();
        let (tw, tm, tv) = (upload(&w), upload(&m), upload(&v));
        // Several steps, so the bias corrections 1 - beta^t change from step to step.
        for step in 1..=STEPS + 1 {
            params.step = step as u32;
            let g = uniform(&mut r, n, -g_scale, g_scale);
            kernels::adam(gpu, &tw, &upload(&g), &tm, &tv, &params);
            reference::adam(&mut w, &g, &mut m, &mut v, &params);
            let case = Case { n, step, params };
            assert_close("adam w", &case, &read(&tw), &w, W_TOL);
            // Moments: a couple of roundings each, relative to their own scale.
            assert_close("adam m", &case, &read(&tm), &m, Tol { abs: 1e-6 * max_abs(&m), rel: 1e-5 });
            assert_close("adam v", &case, &read(&tv), &v, Tol { abs: 1e-6 * max_abs(&v), rel: 1e-5 });
        }
    }
}
