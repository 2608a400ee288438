//! References for `shaders/quant.wgsl`: the quantizers (thresholds, ternarize, TTQ's
//! straight-through gradients, packing, BinaryRelax, channel lasso) written out plainly.

use crate::kernels::ThresholdRule;
use crate::kernels::packed;

/// Per group of `w.len() / groups` consecutive weights: (delta, alpha), alpha being the mean
/// |w| over |w| > delta (0 when no weight is above it).
pub fn ternary_threshold(w: &[f32], groups: usize, rule: ThresholdRule) -> Vec<(f32, f32)> {
    w.chunks(w.len() / groups)
        .map(|g| {
            let delta = match rule {
                ThresholdRule::MeanAbs(f) => f * (g.iter().map(|v| v.abs() as f64).sum::<f64>() / g.len() as f64) as f32,
                ThresholdRule::MaxAbs(f) => f * g.iter().fold(0f32, |m, v| m.max(v.abs())),
            };
            let above: Vec<f64> = g.iter().filter(|v| v.abs() > delta).map(|v| v.abs() as f64).collect();
            let alpha = if above.is_empty() { 0.0 } else { (above.iter().sum::<f64>() / above.len() as f64) as f32 };
            (delta, alpha)
        })
        .collect()
}

/// The ternary value of each weight under its group's threshold.
pub fn ternary_values(w: &[f32], delta: &[f32]) -> Vec<i8> {
    let size = w.len() / delta.len();
    w.iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = delta[i / size];
            if v > d {
                1
            } else if v < -d {
                -1
            } else {
                0
            }
        })
        .collect()
}

/// The dequantized weights, per group.
pub fn ternarize(w: &[f32], delta: &[f32], scale_pos: &[f32], scale_neg: &[f32]) -> Vec<f32> {
    let size = w.len() / delta.len();
    ternary_values(w, delta)
        .iter()
        .enumerate()
        .map(|(i, &t)| match t {
            1 => scale_pos[i / size],
            -1 => -scale_neg[i / size],
            _ => 0.0,
        })
        .collect()
}

/// TTQ's gradients: (latent gradient, scale_pos gradient, scale_neg gradient) from dL/dwq.
pub fn ternary_ste(w: &[f32], delta: &[f32], scale_pos: &[f32], scale_neg: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let groups = delta.len();
    let size = w.len() / groups;
    let (mut gp, mut gn) = (vec![0f64; groups], vec![0f64; groups]);
    let t = ternary_values(w, delta);
    let latent = grad
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            let grp = i / size;
            match t[i] {
                1 => {
                    gp[grp] += g as f64;
                    scale_pos[grp] * g
                }
                -1 => {
                    gn[grp] -= g as f64;
                    scale_neg[grp] * g
                }
                _ => g,
            }
        })
        .collect();
    (latent, gp.into_iter().map(|v| v as f32).collect(), gn.into_iter().map(|v| v as f32).collect())
}

/// The packed words and per-row scales of `ternary_pack`.
pub fn ternary_pack(w: &[f32], delta: &[f32], scale_pos: &[f32], scale_neg: &[f32], n: usize, k: usize) -> (Vec<u32>, Vec<f32>, Vec<f32>) {
    let rows_per_group = n / delta.len();
    let words = packed::pack(&ternary_values(w, delta), n, k);
    let row_pos = (0..n).map(|r| scale_pos[r / rows_per_group]).collect();
    let row_neg = (0..n).map(|r| scale_neg[r / rows_per_group]).collect();
    (words, row_pos, row_neg)
}

/// BinaryRelax's relaxed weights from the projection `wq`.
pub fn ternary_relax(w: &[f32], wq: &[f32], lambda: f32) -> Vec<f32> {
    w.iter().zip(wq).map(|(&w, &q)| ((w as f64 + lambda as f64 * q as f64) / (1.0 + lambda as f64)) as f32).collect()
}

/// `grad` plus mu * w_row / ||w_row|| for the rows of length `k` with a non-zero norm.
pub fn channel_lasso(w: &[f32], grad: &[f32], k: usize, mu: f32) -> Vec<f32> {
    let mut out = grad.to_vec();
    for (r, row) in w.chunks(k).enumerate() {
        let norm = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (j, &v) in row.iter().enumerate() {
                out[r * k + j] = (grad[r * k + j] as f64 + mu as f64 * v as f64 / norm) as f32;
            }
        }
    }
    out
}
