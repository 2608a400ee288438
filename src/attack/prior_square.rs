//! A query attack with a transfer prior: the Square attack on a target model (it reads only
//! the target's logits) whose first query is another model's adversarial example (white-box
//! PGD and APGD on that model, its strongest point) instead of Square's vertical stripes;
//! Square's random squares then search from there. With the prior a compressed sibling of the
//! target, the queries to success measure how much the published sibling helps a black-box
//! attacker; with no prior it is the plain Square attack on the same examples.

use super::batch::Batch;
use super::config::AttackConfig;
use super::probe::WorstCase;
use super::robustness::upload_range;
use super::square::square_from;
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;

/// Per example: whether it was attacked (classified correctly at the start), whether the
/// attack succeeded within the budget, and the queries it spent.
#[derive(Clone, Debug, Default)]
pub struct QueryOutcome {
    pub attacked: Vec<bool>,
    pub fooled: Vec<bool>,
    pub queries: Vec<u32>,
}

impl QueryOutcome {
    /// The share of the attacked examples fooled within the budget.
    pub fn success(&self) -> f64 {
        let (a, f) = self.attacked.iter().zip(&self.fooled).fold((0usize, 0usize), |(a, f), (&at, &fo)| (a + at as usize, f + (at && fo) as usize));
        f as f64 / a.max(1) as f64
    }

    /// Mean and median queries over the attacked examples, a failure counting as the whole
    /// `budget` (so both are lower bounds where some fail).
    pub fn queries_at_budget(&self, budget: usize) -> Option<(f64, u32)> {
        let mut q: Vec<u32> = (0..self.attacked.len()).filter(|&i| self.attacked[i]).map(|i| if self.fooled[i] { self.queries[i] } else { budget as u32 }).collect();
        if q.is_empty() {
            return None;
        }
        q.sort_unstable();
        Some((q.iter().map(|&v| v as f64).sum::<f64>() / q.len() as f64, q[q.len() / 2]))
    }
}

/// The Square attack (`cfg`, L-inf) on `target` over `data`, starting from `prior` (points
/// [n, dim] in the order of `data`) where one is given.
pub async fn prior_square(gpu: &Gpu, target: &Model, data: &Dataset, cfg: &AttackConfig, prior: Option<&[f32]>, batch_size: usize) -> Result<QueryOutcome> {
    let (n, dim) = (data.len(), data.image_len());
    if prior.is_some_and(|p| p.len() != n * dim) {
        return Err(AerError::Invalid(format!("the query attack's prior holds {} values, not one point per example ({n} x {dim})", prior.map_or(0, |p| p.len()))));
    }
    let bs = target.fitting_batch(gpu, batch_size)?;
    let mut out = QueryOutcome::default();
    for start in (0..n).step_by(bs.max(1)) {
        let range = start..(start + bs).min(n);
        let (x0, labels, ys) = upload_range(gpu, data, range.clone());
        // The prior's points of this batch: Square's first query.
        let first = prior.map(|p| &p[range.start * dim..range.end * dim]);
        let b = Batch::new(gpu, x0.clone(), labels, cfg, (start / bs.max(1)) as u64);
        let record = WorstCase::new(gpu, &x0);
        let queries = square_from(gpu, target, cfg, &b, &record, first).await?;
        let fooled = gpu.read_u32(&record.success).await?;
        // Square queries only the examples the target classifies correctly at the start.
        let clean = gpu.read_f32(&target.forward(gpu, x0.clone(), None)).await?;
        for (i, row) in clean.chunks(target.classes).enumerate() {
            let attacked = crate::reference::first_argmax(row) == ys[i];
            out.attacked.push(attacked);
            out.fooled.push(attacked && fooled[i] != 0);
            out.queries.push(queries[i]);
        }
    }
    Ok(out)
}
