//! pgd.wgsl against `reference::pgd`: random starts, PGD and APGD steps under both norms, and
//! the per-example bookkeeping, on batches of examples whose length is off the 256-wide
//! workgroup (1, 255, 257, 784, ...).

use crate::common::*;
use aer::kernels::{self, ApgdState, Norm, Start, APGD_STATE_WORDS};
use aer::reference::pgd as reference;
use rand::rngs::StdRng;
use rand::Rng;

#[derive(Debug, Clone, Copy)]
struct Case {
    batch: usize,
    dim: usize,
}

fn cases(test: &str) -> Vec<Case> {
    let mut cases = vec![Case { batch: 1, dim: 1 }, Case { batch: 2, dim: 255 }, Case { batch: 3, dim: 256 }, Case { batch: 5, dim: 257 }, Case { batch: 7, dim: 784 }];
    cases.extend((0..10).map(|i| {
        let mut r = rng(test, i);
        Case { batch: r.random_range(1..=200), dim: r.random_range(1..=3100) }
    }));
    // One workgroup per example: a full grid dimension.
    cases.push(Case { batch: MAX_GROUPS, dim: 3 });
    cases
}

/// Inputs in [0, 1] with some exactly at the bounds, where clamping matters.
fn images(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| match rng.random_range(0..6) { 0 => 0.0, 1 => 1.0, _ => rng.random::<f32>() }).collect()
}

/// Gradients with exact zeros (a masked gradient must not move the input).
fn grads(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| if rng.random_range(0..8) == 0 { 0.0 } else { rng.random_range(-1.0..1.0) }).collect()
}

fn per_example(rng: &mut StdRng, batch: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..batch).map(|e| if e % 7 == 3 { 0.0 } else { rng.random_range(lo..hi) }).collect()
}

fn upload_states(s: &[ApgdState]) -> aer::gpu::Tensor {
    gpu().upload_u32(bytemuck::cast_slice(s), &[s.len() * APGD_STATE_WORDS])
}

fn words(s: &[ApgdState]) -> Vec<u32> {
    bytemuck::cast_slice(s).to_vec()
}

#[test]
fn random_start_matches_reference() {
    for start in [Start::Box, Start::Ball, Start::Gaussian] {
        let test = format!("random_start_{start:?}");
        for (i, c) in cases(&test).into_iter().enumerate() {
            let mut r = rng(&test, i);
            let x0 = images(&mut r, c.batch * c.dim);
            let eps = per_example(&mut r, c.batch, 0.0, 1.0);
            let seed = r.random::<u32>();
            let x = gpu().empty(&[c.batch, c.dim]);
            kernels::random_start(gpu(), start, &x, &upload(&x0), &upload(&eps), seed, c.batch, c.dim);
            let want = reference::random_start(start, &x0, &eps, seed, c.dim);
            // The box start is a few f32 roundings; the others go through log, cos and pow,
            // which Vulkan allows to be off by 2^-11 in absolute terms (cos), times a normal
            // draw of at most ~5.6, times eps <= 1.
            let tol = if start == Start::Box { Tol { abs: 3e-7, rel: 0.0 } } else { Tol { abs: 3e-3, rel: 0.0 } };
            assert_close("random_start", &(start, c, seed), &read(&x), &want, tol);
        }
    }
}

#[test]
fn random_start_is_uniform_in_the_ball_and_box() {
    // Statistics the references cannot check for themselves: the box start fills the box
    // evenly and the ball start lands inside the ball, mostly near its surface.
    let (batch, dim) = (64, 784);
    let x0 = vec![0.5f32; batch * dim];
    let eps = vec![0.3f32; batch];
    let x = gpu().empty(&[batch, dim]);
    kernels::random_start(gpu(), Start::Box, &x, &upload(&x0), &upload(&eps), 7, batch, dim);
    let d: Vec<f32> = read(&x).iter().map(|v| v - 0.5).collect();
    let mean = d.iter().map(|&v| v as f64).sum::<f64>() / d.len() as f64;
    let var = d.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / d.len() as f64;
    assert!(mean.abs() < 0.003 && (var - 0.09 / 3.0).abs() < 0.001, "box start: mean {mean}, variance {var} (uniform: 0, 0.03)");
    let eps = vec![2.0f32; batch];
    kernels::random_start(gpu(), Start::Ball, &x, &upload(&x0), &upload(&eps), 7, batch, dim);
    let v = read(&x);
    for e in 0..batch {
        let n = v[e * dim..(e + 1) * dim].iter().map(|&v| ((v - 0.5) as f64).powi(2)).sum::<f64>().sqrt();
        assert!(n <= 2.0 + 1e-4 && n > 1.9, "ball start {e}: norm {n} for radius 2");
    }
}

#[test]
fn pgd_step_matches_reference() {
    for norm in [Norm::Linf, Norm::L2] {
        let test = format!("pgd_step_{norm:?}");
        for (i, c) in cases(&test).into_iter().enumerate() {
            let mut r = rng(&test, i);
            let n = c.batch * c.dim;
            let x0 = images(&mut r, n);
            let eps = per_example(&mut r, c.batch, 0.0, 0.5);
            let start = reference::random_start(Start::Box, &x0, &eps, 3, c.dim);
            let g = grads(&mut r, n);
            let step = per_example(&mut r, c.batch, 0.0, 0.3);
            let x = upload(&start);
            kernels::pgd_step(gpu(), norm, &x, &upload(&x0), &upload(&g), &upload(&eps), &upload(&step), c.batch, c.dim);
            let want = reference::pgd_step(norm, &start, &x0, &g, &eps, &step, c.dim);
            let tol = if norm == Norm::Linf { Tol { abs: 2.4e-7, rel: 0.0 } } else { Tol { abs: 1e-5, rel: 0.0 } };
            assert_close("pgd_step", &(norm, c), &read(&x), &want, tol);
        }
    }
}

#[test]
fn apgd_step_matches_reference() {
    for norm in [Norm::Linf, Norm::L2] {
        let test = format!("apgd_step_{norm:?}");
        for (i, c) in cases(&test).into_iter().enumerate() {
            let mut r = rng(&test, i);
            let n = c.batch * c.dim;
            let x0 = images(&mut r, n);
            let eps = per_example(&mut r, c.batch, 0.0, 0.5);
            let xs = reference::random_start(Start::Box, &x0, &eps, 5, c.dim);
            let xp = reference::random_start(Start::Box, &x0, &eps, 6, c.dim);
            let g = grads(&mut r, n);
            let states: Vec<ApgdState> = (0..c.batch).map(|_| ApgdState::initial(r.random_range(0.0..0.6))).collect();
            let alpha = if i % 2 == 0 { 0.75 } else { 1.0 };
            let (x, x_prev) = (upload(&xs), upload(&xp));
            kernels::apgd_step(gpu(), norm, &x, &x_prev, &upload(&x0), &upload(&g), &upload(&eps), &upload_states(&states), alpha, c.batch, c.dim);
            let (want_x, want_prev) = reference::apgd_step(norm, &xs, &xp, &x0, &g, &eps, &states, alpha, c.dim);
            let tol = if norm == Norm::Linf { Tol { abs: 1e-6, rel: 0.0 } } else { Tol { abs: 2e-5, rel: 0.0 } };
            assert_close("apgd_step x", &(norm, c, alpha), &read(&x), &want_x, tol);
            assert_close("apgd_step x_prev", &(norm, c, alpha), &read(&x_prev), &want_prev, Tol::EXACT);
        }
    }
}

#[test]
fn keep_best_matches_reference() {
    for (i, c) in cases("keep_best").into_iter().enumerate() {
        let mut r = rng("keep_best", i);
        let n = c.batch * c.dim;
        let x = images(&mut r, n);
        let mut best_x = images(&mut r, n);
        // Small integers, so equal losses (which must not replace) are common.
        let loss: Vec<f32> = (0..c.batch).map(|_| r.random_range(0..4) as f32).collect();
        let mut best_loss: Vec<f32> = (0..c.batch).map(|_| r.random_range(0..4) as f32).collect();
        let success: Vec<u32> = (0..c.batch).map(|_| r.random_range(0..2)).collect();
        let mut best_success: Vec<u32> = (0..c.batch).map(|_| r.random_range(0..2)).collect();
        let (bx, bl, bs) = (upload(&best_x), upload(&best_loss), upload_u32(&best_success));
        kernels::keep_best(gpu(), &upload(&x), &upload(&loss), &upload_u32(&success), &bx, &bl, &bs, c.batch, c.dim);
        reference::keep_best(&x, &loss, &success, &mut best_x, &mut best_loss, &mut best_success, c.dim);
        assert_close("keep_best x", &c, &read(&bx), &best_x, Tol::EXACT);
        assert_close("keep_best loss", &c, &read(&bl), &best_loss, Tol::EXACT);
        assert_same("keep_best success", &c, &read_u32(&bs), &best_success);
    }
}

fn random_states(r: &mut StdRng, batch: usize, window: u32) -> Vec<ApgdState> {
    (0..batch)
        .map(|_| {
            let best = r.random_range(0..4) as f32;
            ApgdState {
                eta: r.random_range(0.0..0.6),
                best_loss: best,
                best_loss_ckpt: if r.random() { best } else { r.random_range(0..4) as f32 },
                loss_prev: r.random_range(0..4) as f32,
                increases: r.random_range(0..=window),
                reduced: r.random_range(0..2),
                _pad: [0; 2],
            }
        })
        .collect()
}

#[test]
fn keep_max_matches_reference() {
    for (i, c) in cases("keep_max").into_iter().enumerate() {
        let mut r = rng("keep_max", i);
        let n = c.batch * c.dim;
        let (x, g) = (images(&mut r, n), grads(&mut r, n));
        let (mut best_x, mut best_g) = (images(&mut r, n), grads(&mut r, n));
        let loss: Vec<f32> = (0..c.batch).map(|_| r.random_range(0..4) as f32).collect();
        let mut states = random_states(&mut r, c.batch, 10);
        let (bx, bg, st) = (upload(&best_x), upload(&best_g), upload_states(&states));
        kernels::keep_max(gpu(), &upload(&x), &upload(&g), &upload(&loss), &bx, &bg, &st, c.batch, c.dim);
        reference::keep_max(&x, &g, &loss, &mut best_x, &mut best_g, &mut states, c.dim);
        assert_close("keep_max x", &c, &read(&bx), &best_x, Tol::EXACT);
        assert_close("keep_max grad", &c, &read(&bg), &best_g, Tol::EXACT);
        assert_same("keep_max state", &c, &read_u32(&st), &words(&states));
    }
}

#[test]
fn apgd_checkpoint_matches_reference() {
    for (i, c) in cases("apgd_checkpoint").into_iter().enumerate() {
        let mut r = rng("apgd_checkpoint", i);
        let n = c.batch * c.dim;
        let window = r.random_range(1..=22);
        let (mut x, mut g) = (images(&mut r, n), grads(&mut r, n));
        let (best_x, best_g) = (images(&mut r, n), grads(&mut r, n));
        let mut states = random_states(&mut r, c.batch, window as u32);
        let (xt, gt, st) = (upload(&x), upload(&g), upload_states(&states));
        kernels::apgd_checkpoint(gpu(), &xt, &gt, &upload(&best_x), &upload(&best_g), &st, window, 0.75, c.batch, c.dim);
        reference::apgd_checkpoint(&mut x, &mut g, &best_x, &best_g, &mut states, window, 0.75, c.dim);
        assert_close("apgd_checkpoint x", &(c, window), &read(&xt), &x, Tol::EXACT);
        assert_close("apgd_checkpoint grad", &(c, window), &read(&gt), &g, Tol::EXACT);
        assert_same("apgd_checkpoint state", &(c, window), &read_u32(&st), &words(&states));
    }
}
