//! References for `shaders/adv_loss.wgsl` and `shaders/pgd.wgsl`. Rows are examples of
//! `dim` values; eps and step are per example.
#![allow(clippy::needless_range_loop)] // index loops mirror the shaders'

use super::loss::first_argmax;
use crate::kernels::{AdvLoss, ApgdState, Norm, Start};

/// (objective, success, dlogits) per example; `targets` for a targeted attack, `reference`
/// (clean logits) for the KL objective.
pub fn adv_loss(kind: AdvLoss, logits: &[f32], labels: &[u32], targets: Option<&[u32]>, reference: Option<&[f32]>, classes: usize) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let mut loss = Vec::new();
    let mut success = Vec::new();
    let mut grad = vec![0f32; logits.len()];
    for (i, &y) in labels.iter().enumerate() {
        let row: Vec<f64> = logits[i * classes..(i + 1) * classes].iter().map(|&v| v as f64).collect();
        let g = &mut grad[i * classes..(i + 1) * classes];
        let pred = first_argmax(&logits[i * classes..(i + 1) * classes]) as usize;
        let y = y as usize;
        let t = targets.map(|t| t[i] as usize);
        success.push(match t {
            Some(t) => (pred == t) as u32,
            None => (pred != y) as u32,
        });
        let onehot = |j: usize, k: usize| (j == k) as u32 as f64;
        let value = match kind {
            AdvLoss::Ce => {
                let c = t.unwrap_or(y);
                let p = softmax(&row);
                let sgn = if t.is_some() { -1.0 } else { 1.0 };
                for j in 0..classes {
                    g[j] = (sgn * (p[j] - onehot(j, c))) as f32;
                }
                sgn * -p[c].ln()
            }
            AdvLoss::Dlr => {
                let mut order: Vec<usize> = (0..classes).collect();
                order.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap().then(a.cmp(&b)));
                let (p1, p3) = (order[0], order[2]);
                match t {
                    Some(t) => {
                        let p4 = order[3];
                        let d = row[p1] - 0.5 * (row[p3] + row[p4]) + 1e-12;
                        let c = (row[y] - row[t]) / (d * d);
                        for j in 0..classes {
                            g[j] = (-(onehot(j, y) - onehot(j, t)) / d + c * (onehot(j, p1) - 0.5 * onehot(j, p3) - 0.5 * onehot(j, p4))) as f32;
                        }
                        -(row[y] - row[t]) / d
                    }
                    None => {
                        let other = (0..classes).filter(|&j| j != y).max_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap().then(b.cmp(&a))).unwrap();
                        let d = row[p1] - row[p3] + 1e-12;
                        let c = (row[y] - row[other]) / (d * d);
                        for j in 0..classes {
                            g[j] = (-(onehot(j, y) - onehot(j, other)) / d + c * (onehot(j, p1) - onehot(j, p3))) as f32;
                        }
                        -(row[y] - row[other]) / d
                    }
                }
            }
            AdvLoss::Kl => {
                let r: Vec<f64> = reference.expect("KL needs the clean logits")[i * classes..(i + 1) * classes].iter().map(|&v| v as f64).collect();
                let (p, q) = (softmax(&r), softmax(&row));
                for j in 0..classes {
                    g[j] = (q[j] - p[j]) as f32;
                }
                (0..classes).map(|j| if p[j] > 0.0 { p[j] * (p[j].ln() - q[j].ln()) } else { 0.0 }).sum()
            }
        };
        loss.push(value as f32);
    }
    (loss, success, grad)
}

fn softmax(row: &[f64]) -> Vec<f64> {
    let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - mx).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// The shader's PCG hash.
pub fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// Uniform in [0, 1) for counter `i` of stream `stream` under `seed`, as the shader draws it.
pub fn uniform01(seed: u32, i: u32, stream: u32) -> f64 {
    (pcg(i ^ pcg(seed ^ pcg(stream))) >> 8) as f64 / 16_777_216.0
}

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
