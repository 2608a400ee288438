//! References for `shaders/augmix.wgsl`, and the Dirichlet and Beta draws that weight its
//! chains (drawn here on the CPU and uploaded, as `methods::augmix` does).

use super::common::{sample_bilinear, uniform01, uniform01_f32};
use crate::kernels::{augmix_trig, AugmixChains, Border, AUGMIX_MAX_DEPTH};

/// A value in [0, 1] as PIL's 8-bit level (`level8`).
fn level8(v: f32) -> u32 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u32
}

/// Example `e`'s draws for step `d` of chain `k`: (operation, level, sign), and whether the
/// step runs (`d` below the chain's depth).
pub fn augmix_draws(seed: u32, e: u32, k: usize, d: usize, chains: &AugmixChains) -> (u32, f32, f32, bool) {
    let stream = 16 * k as u32 + 4 * d as u32;
    let depth = if chains.depth == 0 { 1 + ((uniform01_f32(seed, e, 16 * k as u32 + 15) * 3.0) as usize).min(2) } else { chains.depth };
    let ops = if chains.geometric { 9 } else { 4 };
    let op = ((uniform01_f32(seed, e, stream) * ops as f32) as u32).min(ops - 1);
    let level = 0.1 + uniform01_f32(seed, e, stream + 1) * (chains.severity - 0.1);
    let sign = if uniform01_f32(seed, e, stream + 2) < 0.5 { -1.0 } else { 1.0 };
    (op, level, sign, d < depth)
}

/// One operation on one plane [h, w] (the numbering of the shader).
pub fn augmix_op(plane: &[f32], [h, w]: [usize; 2], op: u32, lv: f32, sg: f32) -> Vec<f32> {
    let (mn, mx) = plane.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let mut hist = [0u32; 256];
    for &v in plane {
        hist[level8(v) as usize] += 1;
    }
    let top = hist.iter().rev().find(|&&c| c > 0).copied().unwrap_or(0);
    let eq_step = (h * w) as u32 - top;
    let eq_step = eq_step / 255;
    let (cy, cx) = ((h - 1) as f32 * 0.5, (w - 1) as f32 * 0.5);
    let sample = |fy: f32, fx: f32| sample_bilinear(plane, [h, w], fy, fx, Border::Zero);
    let trig = augmix_trig();
    (0..h * w)
        .map(|j| {
            let v = plane[j];
            let (fy, fx) = ((j / w) as f32, (j % w) as f32);
            match op {
                0 if mx > mn => ((v - mn) / (mx - mn)).clamp(0.0, 1.0),
                0 => v,
                1 if eq_step == 0 => v,
                1 => {
                    let below: u32 = hist[..level8(v) as usize].iter().sum();
                    ((below + eq_step / 2) / eq_step).min(255) as f32 / 255.0
                }
                2 => {
                    let bits = 4 - (lv * 4.0 / 10.0) as u32;
                    let keep = !((1u32 << (8 - bits)) - 1) & 255;
                    (level8(v) & keep) as f32 / 255.0
                }
                3 => {
                    let threshold = 256 - (lv * 256.0 / 10.0) as u32;
                    let q = level8(v);
                    (if q >= threshold { 255 - q } else { q }) as f32 / 255.0
                }
                4 => {
                    let degrees = ((lv * 30.0 / 10.0) as usize).min(30);
                    let (co, si) = (trig[degrees], sg * trig[31 + degrees]);
                    let (dy, dx) = (fy - cy, fx - cx);
                    sample(cy + si * dx + co * dy, cx + co * dx - si * dy)
                }
                5 => sample(fy, fx + sg * (lv * 0.3 / 10.0) * (fy - cy)),
                6 => sample(fy + sg * (lv * 0.3 / 10.0) * (fx - cx), fx),
                7 => sample(fy, fx + sg * ((lv * w as f32 / 3.0 / 10.0) as u32) as f32),
                _ => sample(fy + sg * ((lv * h as f32 / 3.0 / 10.0) as u32) as f32, fx),
            }
        })
        .collect()
}

/// AugMix of x [n, c, h, w] with `weights` [n, width + 1] from `mixing_weights`.
pub fn augmix(x: &[f32], [n, c, h, w]: [usize; 4], weights: &[f32], chains: &AugmixChains, seed: u32) -> Vec<f32> {
    let hw = h * w;
    let mut out = vec![0f32; x.len()];
    for e in 0..n {
        let row = &weights[e * (chains.width + 1)..(e + 1) * (chains.width + 1)];
        for ch in 0..c {
            let base = (e * c + ch) * hw;
            let original = &x[base..base + hw];
            let mut sum = vec![0f32; hw];
            for (k, &weight) in row[..chains.width].iter().enumerate() {
                let mut plane = original.to_vec();
                for d in 0..AUGMIX_MAX_DEPTH {
                    let (op, lv, sg, runs) = augmix_draws(seed, e as u32, k, d, chains);
                    if runs {
                        plane = augmix_op(&plane, [h, w], op, lv, sg);
                    }
                }
                for (s, v) in sum.iter_mut().zip(&plane) {
                    *s = if k == 0 { weight * v } else { weight * v + *s };
                }
            }
            let m = row[chains.width];
            for (o, (s, v)) in out[base..base + hw].iter_mut().zip(sum.iter().zip(original)) {
                *o = m * v + (1.0 - m) * s;
            }
        }
    }
    out
}

/// A Gamma(alpha, 1) draw (Marsaglia and Tsang, 2000; alpha < 1 through Gamma(alpha + 1)
/// U^(1 / alpha)) from the uniforms of (seed, e) on streams counting up from `*stream`.
fn gamma(alpha: f64, seed: u32, e: u32, stream: &mut u32) -> f64 {
    // In (0, 1]: log stays finite.
    let mut u = || {
        *stream += 1;
        1.0 - uniform01(seed, e, *stream)
    };
    if alpha < 1.0 {
        let boost = u().powf(1.0 / alpha);
        return gamma(alpha + 1.0, seed, e, stream) * boost;
    }
    let d = alpha - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    // Each try is accepted with probability above 0.95; 64 failures in a row do not happen.
    for _ in 0..64 {
        let z = (-2.0 * u().ln()).sqrt() * (std::f64::consts::TAU * u()).cos();
        let v = (1.0 + c * z).powi(3);
        if v > 0.0 && u().ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            return d * v;
        }
    }
    d
}

/// The mixing weights [n, width + 1] of a batch: per example the chains' Dirichlet(alpha)
/// weights, then m ~ Beta(alpha, alpha), the original's share. Example e draws from
/// `uniform01(seed, e, stream)` on streams from 1024 up, apart from the operations' draws.
pub fn mixing_weights(seed: u32, n: usize, width: usize, alpha: f32) -> Vec<f32> {
    let alpha = alpha as f64;
    let mut out = Vec::with_capacity(n * (width + 1));
    for e in 0..n as u32 {
        let mut stream = 1024;
        let g: Vec<f64> = (0..width).map(|_| gamma(alpha, seed, e, &mut stream)).collect();
        let total: f64 = g.iter().sum();
        out.extend(g.iter().map(|v| (v / total) as f32));
        let (a, b) = (gamma(alpha, seed, e, &mut stream), gamma(alpha, seed, e, &mut stream));
        out.push((a / (a + b)) as f32);
    }
    out
}
