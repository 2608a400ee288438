//! Square attack under L-inf (Andriushchenko et al., 2020): a score-based black box that only
//! reads the model's logits. It starts from vertical stripes of +-eps and then, once per query,
//! proposes moving one random square (the same sign over the square, per channel) to a corner
//! of the eps-box, keeping the proposal when the margin z_y - max_{j != y} z_j falls. The
//! square's share p of the image starts at 0.8 and halves after queries 10, 50, 200, 500, 1000,
//! 2000, 4000, 6000 and 8000, unscaled by the query budget as in AutoAttack's standard run
//! (`resc_schedule=False`). Proposals are drawn on the CPU; each query is one forward pass on
//! the GPU over the examples still classified correctly, which alone go on being queried.

use super::batch::Batch;
use super::config::AttackConfig;
use super::probe::{probe, Objective, WorstCase};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::AdvLoss;
use crate::nn::Model;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const P_INIT: f32 = 0.8;
const HALVINGS: [usize; 9] = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

/// The share of the image a square covers at proposal `it` (counted from 0).
fn p_at(it: usize) -> f32 {
    P_INIT / (1u32 << HALVINGS.iter().filter(|&&t| it > t).count()) as f32
}

/// Square on one batch into `record`; returns the queries spent per example (0 for examples
/// misclassified or at radius 0 from the start).
pub async fn square(gpu: &Gpu, model: &Model, cfg: &AttackConfig, b: &Batch, record: &WorstCase) -> Result<Vec<u32>> {
    square_from(gpu, model, cfg, b, record, None).await
}

/// `square` whose first query is `start` ([n, dim], projected onto the eps-box and [0, 1])
/// instead of the vertical stripes: a prior such as another model's adversarial example
/// (`prior_square`).
pub async fn square_from(gpu: &Gpu, model: &Model, cfg: &AttackConfig, b: &Batch, record: &WorstCase, start: Option<&[f32]>) -> Result<Vec<u32>> {
    let n = b.len();
    let shape = b.x0.shape().to_vec();
    let &[_, c, h, w] = &shape[..] else {
        return Err(AerError::Invalid(format!("the Square attack needs images [n, channels, height, width], got shape {shape:?}")));
    };
    let dim = c * h * w;
    let x0 = gpu.read_f32(&b.x0).await?;
    let labels = gpu.read_u32(&b.labels).await?;
    let mut rng = StdRng::seed_from_u64(b.seed(cfg, 0) as u64);
    let mut queries = vec![0u32; n];
    let mut x = x0.clone();
    // The clean prediction is not a query: only correctly classified examples are attacked.
    let (mut margin, mut fooled) = evaluate(gpu, model, &b.x0, &b.labels).await?;
    let mut active: Vec<usize> = (0..n).filter(|&i| fooled[i] == 0 && b.eps_values[i] > 0.0).collect();

    if start.is_some_and(|s| s.len() != n * dim) {
        return Err(AerError::Invalid(format!("the Square attack's start has {} values for {n} examples of {dim}", start.map_or(0, |s| s.len()))));
    }
    // Query 1: the given start, or vertical stripes, one sign per channel and column.
    for &i in &active {
        let eps = b.eps_values[i];
        if let Some(s) = start {
            for j in i * dim..(i + 1) * dim {
                x[j] = s[j].clamp(x0[j] - eps, x0[j] + eps).clamp(0.0, 1.0);
            }
            continue;
        }
        for ch in 0..c {
            for col in 0..w {
                let s = if rng.random::<bool>() { eps } else { -eps };
                for row in 0..h {
                    let j = i * dim + (ch * h + row) * w + col;
                    x[j] = (x0[j] + s).clamp(0.0, 1.0);
                }
            }
        }
    }
    if !active.is_empty() {
        let rows: Vec<f32> = active.iter().flat_map(|&i| x[i * dim..(i + 1) * dim].iter().copied()).collect();
        let (m, f) = query(gpu, model, &rows, &labels, &active, &shape).await?;
        for (k, &i) in active.iter().enumerate() {
            (margin[i], fooled[i], queries[i]) = (m[k], f[k], 1);
        }
    }

    let mut proposal = Vec::new();
    for it in 0..cfg.steps.saturating_sub(1) {
        active.retain(|&i| fooled[i] == 0);
        if active.is_empty() {
            break;
        }
        let side = ((p_at(it) * (h * w) as f32).sqrt().round() as usize).clamp(1, h.min(w));
        proposal.clear();
        for &i in &active {
            let eps = b.eps_values[i];
            let (top, left) = (rng.random_range(0..=h - side), rng.random_range(0..=w - side));
            let start = proposal.len();
            proposal.extend_from_slice(&x[i * dim..(i + 1) * dim]);
            for ch in 0..c {
                let s = if rng.random::<bool>() { eps } else { -eps };
                for row in top..top + side {
                    for col in left..left + side {
                        let j = (ch * h + row) * w + col;
                        proposal[start + j] = (x0[i * dim + j] + s).clamp(0.0, 1.0);
                    }
                }
            }
        }
        let (m, f) = query(gpu, model, &proposal, &labels, &active, &shape).await?;
        for (k, &i) in active.iter().enumerate() {
            queries[i] += 1;
            // Keep a proposal that lowers the margin or misclassifies.
            if m[k] < margin[i] || f[k] != 0 {
                x[i * dim..(i + 1) * dim].copy_from_slice(&proposal[k * dim..(k + 1) * dim]);
                (margin[i], fooled[i]) = (m[k], f[k]);
            }
        }
    }
    let best = gpu.upload(&x, &shape);
    let obj = Objective { loss: AdvLoss::Margin, labels: &b.labels, targets: None, reference: None };
    record.observe(gpu, &best, &probe(gpu, model, &obj, &best, false));
    Ok(queries)
}

/// Margin z_y - max_{j != y} z_j and misclassification flags at the points `x` [n, ...].
async fn evaluate(gpu: &Gpu, model: &Model, x: &Tensor, labels: &Tensor) -> Result<(Vec<f32>, Vec<u32>)> {
    let obj = Objective { loss: AdvLoss::Margin, labels, targets: None, reference: None };
    let p = probe(gpu, model, &obj, x, false);
    // The objective is the negated margin.
    let margin = gpu.read_f32(&p.loss).await?.into_iter().map(|v| -v).collect();
    Ok((margin, gpu.read_u32(&p.success).await?))
}

/// `evaluate` at `rows`, the points of the examples `active` in order.
async fn query(gpu: &Gpu, model: &Model, rows: &[f32], labels: &[u32], active: &[usize], shape: &[usize]) -> Result<(Vec<f32>, Vec<u32>)> {
    let m = active.len();
    let x = gpu.upload(rows, &[m, shape[1], shape[2], shape[3]]);
    let y = gpu.upload_u32(&active.iter().map(|&i| labels[i]).collect::<Vec<_>>(), &[m]);
    evaluate(gpu, model, &x, &y).await
}
