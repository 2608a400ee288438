//! References for `shaders/pgd.wgsl`. Rows are examples of `dim` values; eps and step are
//! per example.
#![allow(clippy::needless_range_loop)] // index loops mirror the shader's

use super::common::uniform01;
use crate::kernels::{ApgdState, Norm, Start};

/// Standard normal for counter `i` (Box-Muller on streams 0 and 1), as the shader draws it.
pub fn normal(seed: u32, i: u32) -> f64 {
    let u1 = 1.0 - uniform01(seed, i, 0);
    let u2 = uniform01(seed, i, 1);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

pub fn random_start(start: Start, x0: &[f32], eps: &[f32], seed: u32, dim: usize) -> Vec<f32> {
    let mut x = vec![0f32; x0.len()];
    for (e, &r) in eps.iter().enumerate() {
        let r = r as f64;
        let base = e * dim;
        let idx = |j: usize| (base + j) as u32;
        let scale = match start {
            Start::Ball => {
                let total: f64 = (0..dim).map(|j| normal(seed, idx(j)).powi(2)).sum();
                r * uniform01(seed, e as u32, 2).powf(1.0 / dim as f64) / total.sqrt().max(1e-12)
            }
            _ => r,
        };
        for j in 0..dim {
            let noise = match start {
                Start::Box => r * (2.0 * uniform01(seed, idx(j), 0) - 1.0),
                Start::Ball | Start::Gaussian => normal(seed, idx(j)) * scale,
            };
            x[base + j] = (x0[base + j] as f64 + noise).clamp(0.0, 1.0) as f32;
        }
    }
    x
}

/// Project one example onto the eps-ball around c and into [0, 1].
pub fn project(norm: Norm, v: &[f64], c: &[f32], eps: f64) -> Vec<f64> {
    match norm {
        Norm::Linf => v.iter().zip(c).map(|(&v, &c)| v.clamp(c as f64 - eps, c as f64 + eps).clamp(0.0, 1.0)).collect(),
        Norm::L2 => {
            let n = v.iter().zip(c).map(|(&v, &c)| (v - c as f64).powi(2)).sum::<f64>().sqrt();
            let s = (eps / n.max(1e-12)).min(1.0);
            v.iter().zip(c).map(|(&v, &c)| (c as f64 + (v - c as f64) * s).clamp(0.0, 1.0)).collect()
        }
    }
}

fn direction(norm: Norm, g: &[f32]) -> Vec<f64> {
    match norm {
        Norm::Linf => g.iter().map(|&g| if g > 0.0 { 1.0 } else if g < 0.0 { -1.0 } else { 0.0 }).collect(),
        Norm::L2 => {
            let n = g.iter().map(|&g| (g as f64).powi(2)).sum::<f64>().sqrt().max(1e-12);
            g.iter().map(|&g| g as f64 / n).collect()
        }
    }
}

pub fn pgd_step(norm: Norm, x: &[f32], x0: &[f32], grad: &[f32], eps: &[f32], step: &[f32], dim: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for e in 0..eps.len() {
        let r = e * dim..(e + 1) * dim;
        let d = direction(norm, &grad[r.clone()]);
        let v: Vec<f64> = x[r.clone()].iter().zip(&d).map(|(&x, d)| x as f64 + step[e] as f64 * d).collect();
        out.extend(project(norm, &v, &x0[r], eps[e] as f64).iter().map(|&v| v as f32));
    }
    out
}

/// (x_next, x_prev_next).
#[allow(clippy::too_many_arguments)]
pub fn apgd_step(norm: Norm, x: &[f32], x_prev: &[f32], x0: &[f32], grad: &[f32], eps: &[f32], state: &[ApgdState], alpha: f32, dim: usize) -> (Vec<f32>, Vec<f32>) {
    let mut out = Vec::with_capacity(x.len());
    let a = alpha as f64;
    for e in 0..eps.len() {
        let r = e * dim..(e + 1) * dim;
        let d = direction(norm, &grad[r.clone()]);
        let v: Vec<f64> = x[r.clone()].iter().zip(&d).map(|(&x, d)| x as f64 + state[e].eta as f64 * d).collect();
        let z = project(norm, &v, &x0[r.clone()], eps[e] as f64);
        let u: Vec<f64> = (0..dim).map(|j| {
            let xv = x[e * dim + j] as f64;
            xv + a * (z[j] - xv) + (1.0 - a) * (xv - x_prev[e * dim + j] as f64)
        }).collect();
        out.extend(project(norm, &u, &x0[r], eps[e] as f64).iter().map(|&v| v as f32));
    }
    (out, x.to_vec())
}

/// Updates best_x, best_loss and best_success in place.
pub fn keep_best(x: &[f32], loss: &[f32], success: &[u32], best_x: &mut [f32], best_loss: &mut [f32], best_success: &mut [u32], dim: usize) {
    for e in 0..loss.len() {
        let better = success[e] > best_success[e] || (success[e] == best_success[e] && loss[e] > best_loss[e]);
        if better {
            best_x[e * dim..(e + 1) * dim].copy_from_slice(&x[e * dim..(e + 1) * dim]);
            best_loss[e] = loss[e];
            best_success[e] = success[e];
        }
    }
}

pub fn keep_max(x: &[f32], grad: &[f32], loss: &[f32], best_x: &mut [f32], best_grad: &mut [f32], state: &mut [ApgdState], dim: usize) {
    for e in 0..loss.len() {
        let s = &mut state[e];
        let r = e * dim..(e + 1) * dim;
        if loss[e] > s.best_loss {
            best_x[r.clone()].copy_from_slice(&x[r.clone()]);
            best_grad[r.clone()].copy_from_slice(&grad[r]);
            s.best_loss = loss[e];
        }
        if loss[e] > s.loss_prev {
            s.increases += 1;
        }
        s.loss_prev = loss[e];
    }
}

#[allow(clippy::too_many_arguments)]
pub fn apgd_checkpoint(x: &mut [f32], grad: &mut [f32], best_x: &[f32], best_grad: &[f32], state: &mut [ApgdState], window: usize, rho: f32, dim: usize) {
    for (e, s) in state.iter_mut().enumerate() {
        let oscillating = s.increases as f32 <= rho * window as f32;
        let stalled = s.reduced == 0 && s.best_loss_ckpt >= s.best_loss;
        let reduce = oscillating || stalled;
        if reduce {
            let r = e * dim..(e + 1) * dim;
            x[r.clone()].copy_from_slice(&best_x[r.clone()]);
            grad[r.clone()].copy_from_slice(&best_grad[r]);
            s.eta *= 0.5;
        }
        s.reduced = reduce as u32;
        s.best_loss_ckpt = s.best_loss;
        s.increases = 0;
    }
}
