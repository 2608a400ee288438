//! One batch under attack: clean inputs, labels, per-example radii and steps, and the target
//! classes of a targeted attack.

use super::config::AttackConfig;
use crate::gpu::{Gpu, Tensor};
use crate::reference::common::pcg;

pub struct Batch {
    pub x0: Tensor,
    pub labels: Tensor,
    /// Per-example radius [n]; 0 leaves an example clean.
    pub eps: Tensor,
    /// Per-example PGD step [n].
    pub step: Tensor,
    /// The radii on the CPU (APGD's first step size is 2 eps).
    pub eps_values: Vec<f32>,
    /// Target classes for restart r of a targeted attack: `targets[r % targets.len()]`.
    pub targets: Vec<Tensor>,
    /// Mixed into the random starts, so batches do not share noise.
    pub salt: u64,
}

impl Batch {
    /// Every example at the attack's own radius and step.
    pub fn new(gpu: &Gpu, x0: Tensor, labels: Tensor, cfg: &AttackConfig, salt: u64) -> Batch {
        let n = x0.shape()[0];
        Batch::with_radii(gpu, x0, labels, vec![cfg.eps; n], vec![cfg.step; n], salt)
    }

    pub fn with_radii(gpu: &Gpu, x0: Tensor, labels: Tensor, eps: Vec<f32>, step: Vec<f32>, salt: u64) -> Batch {
        let n = eps.len();
        Batch { eps: gpu.upload(&eps, &[n]), step: gpu.upload(&step, &[n]), eps_values: eps, x0, labels, targets: Vec::new(), salt }
    }

    pub fn len(&self) -> usize {
        self.eps_values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.eps_values.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.x0.numel() / self.len().max(1)
    }

    /// The random-start seed of restart `restart` of `cfg` on this batch.
    pub fn seed(&self, cfg: &AttackConfig, restart: usize) -> u32 {
        let s = cfg.seed ^ self.salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (restart as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
        pcg((s ^ (s >> 32)) as u32)
    }
}

/// Targets for targeted attacks from clean logits [n, classes]: restart r aims at the
/// (r+1)-th most likely class other than the label.
pub fn runner_up_targets(logits: &[f32], labels: &[u32], classes: usize, restarts: usize) -> Vec<Vec<u32>> {
    let ranked: Vec<Vec<u32>> = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let row = &logits[i * classes..(i + 1) * classes];
            let mut order: Vec<u32> = (0..classes as u32).filter(|&j| j != y).collect();
            order.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]));
            order
        })
        .collect();
    (0..restarts).map(|r| ranked.iter().map(|o| o[r % o.len()]).collect()).collect()
}
