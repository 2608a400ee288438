//! The minimal adversarial distance per example, by bisection on eps: each round attacks the
//! whole batch with PGD at a per-example radius (the midpoint of that example's interval)
//! and keeps the half where the answer lies. The estimate is an upper bound on the true
//! minimal distance, as tight as the attack is strong.

use super::batch::Batch;
use super::config::{AttackConfig, DistanceConfig};
use super::pgd::pgd;
use super::probe::{probe, Objective, WorstCase};
use super::robustness::upload_range;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{AdvLoss, Norm};
use crate::nn::Model;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct DistanceStats {
    pub n: usize,
    /// Per example; 0 when the clean input is already misclassified, None when no
    /// adversarial example was found within max_eps.
    pub distances: Vec<Option<f32>>,
    pub median: Option<f32>,
    pub mean: Option<f32>,
    /// Examples with no adversarial example within max_eps (left out of mean and median).
    pub not_found: usize,
}

pub async fn minimal_distances(gpu: &Gpu, model: &Model, data: &Dataset, norm: Norm, cfg: &DistanceConfig, seed: u64, batch_size: usize) -> Result<DistanceStats> {
    let n = data.len();
    let mut distances = Vec::with_capacity(n);
    let attack = AttackConfig::pgd(norm, cfg.max_eps, 2.5 * cfg.max_eps / cfg.steps as f32, cfg.steps, seed);
    let bs = batch_size.max(1);
    for start in (0..n).step_by(bs) {
        let range = start..(start + bs).min(n);
        let m = range.len();
        let (x0, labels, _) = upload_range(gpu, data, range);
        let adversarial_at = async |eps: &[f32], round: u64| -> Result<Vec<bool>> {
            let step: Vec<f32> = eps.iter().map(|e| 2.5 * e / cfg.steps as f32).collect();
            let b = Batch::with_radii(gpu, x0.clone(), labels.clone(), eps.to_vec(), step, (start as u64) << 8 | round);
            let record = WorstCase::new(gpu, &x0);
            let ce = Objective { loss: AdvLoss::Ce, labels: &labels, targets: None, reference: None };
            record.observe(gpu, &x0, &probe(gpu, model, &ce, &x0, false));
            pgd(gpu, model, &attack, &b, &record);
            Ok(gpu.read_u32(&record.success).await?.iter().map(|&s| s == 1).collect())
        };
        let clean_wrong = adversarial_at(&vec![0.0; m], 0).await?;
        let found_at_max = adversarial_at(&vec![cfg.max_eps; m], 1).await?;
        let (mut lo, mut hi) = (vec![0.0f32; m], vec![cfg.max_eps; m]);
        for round in 0..cfg.iters {
            let mid: Vec<f32> = lo.iter().zip(&hi).map(|(a, b)| 0.5 * (a + b)).collect();
            let found = adversarial_at(&mid, 2 + round as u64).await?;
            for i in 0..m {
                if found[i] {
                    hi[i] = mid[i];
                } else {
                    lo[i] = mid[i];
                }
            }
        }
        for i in 0..m {
            distances.push(if clean_wrong[i] {
                Some(0.0)
            } else if found_at_max[i] {
                Some(hi[i])
            } else {
                None
            });
        }
    }
    let mut found: Vec<f32> = distances.iter().flatten().copied().collect();
    found.sort_by(f32::total_cmp);
    let median = (!found.is_empty()).then(|| {
        let h = found.len() / 2;
        if found.len() % 2 == 1 { found[h] } else { 0.5 * (found[h - 1] + found[h]) }
    });
    let mean = (!found.is_empty()).then(|| found.iter().map(|&d| d as f64).sum::<f64>() as f32 / found.len() as f32);
    Ok(DistanceStats { n, not_found: n - found.len(), distances, median, mean })
}
