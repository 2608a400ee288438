//! References for `shaders/learned_mask.wgsl`: HYDRA's score gradient and hard-concrete gates.

use super::common::pcg;
use crate::kernels::HardConcrete;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub fn score_grad(w: &[f32], score: &[f32], grad: &[f32]) -> Vec<f32> {
    w.iter().zip(score).zip(grad).map(|((&w, &s), &g)| g * w * if s > 0.0 { 1.0 } else if s < 0.0 { -1.0 } else { 0.0 }).collect()
}

/// The uniform draw of gate `i` from stream `seed`, in (0, 1).
pub fn gate_uniform(seed: u32, i: u32) -> f64 {
    ((pcg(i ^ pcg(seed)) >> 8) as f64 + 0.5) / 16_777_216.0
}

/// (w_eff, gate).
pub fn gate_forward(hc: HardConcrete, w: &[f32], log_alpha: &[f32], seed: Option<u32>) -> (Vec<f32>, Vec<f32>) {
    let (beta, gamma, zeta) = (hc.beta as f64, hc.gamma as f64, hc.zeta as f64);
    let gate: Vec<f32> = log_alpha
        .iter()
        .enumerate()
        .map(|(i, &la)| {
            let s = match seed {
                Some(seed) => {
                    let u = gate_uniform(seed, i as u32);
                    sigmoid((u.ln() - (1.0 - u).ln() + la as f64) / beta)
                }
                None => sigmoid(la as f64),
            };
            (s * (zeta - gamma) + gamma).clamp(0.0, 1.0) as f32
        })
        .collect();
    (w.iter().zip(&gate).map(|(w, z)| w * z).collect(), gate)
}

/// (w_grad, log_alpha_grad).
pub fn gate_backward(hc: HardConcrete, w: &[f32], log_alpha: &[f32], grad: &[f32], gate: &[f32], l0: f32) -> (Vec<f32>, Vec<f32>) {
    let (beta, gamma, zeta) = (hc.beta as f64, hc.gamma as f64, hc.zeta as f64);
    let mut wg = Vec::with_capacity(w.len());
    let mut lg = Vec::with_capacity(w.len());
    for i in 0..w.len() {
        let z = gate[i] as f64;
        let dz = if z > 0.0 && z < 1.0 {
            let s = (z - gamma) / (zeta - gamma);
            (zeta - gamma) * s * (1.0 - s) / beta
        } else {
            0.0
        };
        let q = sigmoid(log_alpha[i] as f64 - beta * (-gamma / zeta).ln());
        wg.push((grad[i] as f64 * z) as f32);
        lg.push((grad[i] as f64 * w[i] as f64 * dz + l0 as f64 * q * (1.0 - q)) as f32);
    }
    (wg, lg)
}

pub fn gate_open_probability(hc: HardConcrete, log_alpha: &[f32]) -> Vec<f32> {
    let (beta, gamma, zeta) = (hc.beta as f64, hc.gamma as f64, hc.zeta as f64);
    log_alpha.iter().map(|&la| sigmoid(la as f64 - beta * (-gamma / zeta).ln()) as f32).collect()
}
