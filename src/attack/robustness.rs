//! Robustness of a model on a data set: clean accuracy, robust accuracy under each attack and
//! under the worst case across them (per example), and the robustness curve over radii.
//! Reads back once per batch, after its attacks; nothing inside an attack waits on the GPU.

use super::apgd::apgd;
use super::batch::{runner_up_targets, Batch};
use super::config::{AttackConfig, Method};
use super::fab::fab;
use super::pgd::pgd;
use super::probe::{probe, Objective, WorstCase};
use super::square::square;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::AdvLoss;
use crate::nn::Model;
use crate::reference::first_argmax;

/// Run one attack on one batch into `record`. A score-based attack (Square) returns the
/// model queries it spent per example.
pub async fn run_attack(gpu: &Gpu, model: &Model, cfg: &AttackConfig, b: &Batch, record: &WorstCase) -> Result<Option<Vec<u32>>> {
    match cfg.method {
        Method::Pgd => pgd(gpu, model, cfg, b, record),
        Method::Apgd => apgd(gpu, model, cfg, b, record),
        Method::Fab => fab(gpu, model, cfg, b, record).await?,
        Method::Square => return Ok(Some(square(gpu, model, cfg, b, record).await?)),
    }
    Ok(None)
}

/// One attack's outcome over the data set.
#[derive(Clone, Debug)]
pub struct AttackOutcome {
    pub config: AttackConfig,
    /// Per example: clean-correct and still correct at the attack's strongest point.
    pub robust: Vec<bool>,
    pub seconds: f64,
    /// Per example, the model queries a score-based attack spent (empty for the others).
    pub queries: Vec<u32>,
}

impl AttackOutcome {
    pub fn accuracy(&self) -> f64 {
        fraction(&self.robust)
    }

    /// Mean and median queries over the examples the attack queried (those correctly
    /// classified at the start), for a score-based attack that queried any.
    pub fn query_stats(&self) -> Option<(f64, u32)> {
        let mut q: Vec<u32> = self.queries.iter().copied().filter(|&q| q > 0).collect();
        if q.is_empty() {
            return None;
        }
        q.sort_unstable();
        Some((q.iter().map(|&v| v as f64).sum::<f64>() / q.len() as f64, q[q.len() / 2]))
    }

    /// `query_stats` as result files hold them: {"mean", "median"}.
    pub fn queries_json(&self) -> Option<serde_json::Value> {
        self.query_stats().map(|(mean, median)| serde_json::json!({"mean": mean, "median": median}))
    }
}

/// Everything one evaluation found, per example.
#[derive(Clone, Debug)]
pub struct Robustness {
    pub labels: Vec<u32>,
    pub clean_pred: Vec<u32>,
    pub attacks: Vec<AttackOutcome>,
    /// Per example: robust under every attack.
    pub worst_robust: Vec<bool>,
    /// The worst-case point per example ([n, dim], in [0, 1]) and the prediction there.
    pub adversarial: Vec<f32>,
    pub adv_pred: Vec<u32>,
    pub clean: Vec<f32>,
    /// Examples whose input gradient (of cross-entropy, at the clean input) is exactly zero.
    pub zero_gradients: usize,
    /// Whether every logit row looks like a probability vector (non-negative, sums to 1).
    pub outputs_probabilities: bool,
}

impl Robustness {
    pub fn clean_accuracy(&self) -> f64 {
        fraction(&self.clean_correct())
    }

    pub fn clean_correct(&self) -> Vec<bool> {
        self.labels.iter().zip(&self.clean_pred).map(|(y, p)| y == p).collect()
    }

    pub fn worst_accuracy(&self) -> f64 {
        fraction(&self.worst_robust)
    }
}

pub fn fraction(v: &[bool]) -> f64 {
    v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64
}

/// Logits of a batch, read back.
async fn logits_of(gpu: &Gpu, model: &Model, x: &Tensor) -> Result<Vec<f32>> {
    let logits = model.forward(gpu, x.clone(), None);
    gpu.read_f32(&logits).await
}

fn argmax_rows(logits: &[f32], classes: usize) -> Vec<u32> {
    logits.chunks(classes).map(first_argmax).collect()
}

fn looks_like_probabilities(logits: &[f32], classes: usize) -> bool {
    logits.chunks(classes).all(|r| r.iter().all(|&v| (0.0..=1.0).contains(&v)) && (r.iter().sum::<f32>() - 1.0).abs() < 1e-3)
}

/// Upload examples `range` of `data` as (x0, labels, labels on the CPU).
pub fn upload_range(gpu: &Gpu, data: &Dataset, range: std::ops::Range<usize>) -> (Tensor, Tensor, Vec<u32>) {
    let idx: Vec<u32> = (range.start as u32..range.end as u32).collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    data.gather(&idx, &mut xs, &mut ys);
    let [c, h, w] = data.shape;
    (gpu.upload(&xs, &[idx.len(), c, h, w]), gpu.upload_u32(&ys, &[idx.len()]), ys)
}

/// Attack every example of `data` with each of `attacks`. `progress(batch, batches)` after
/// each batch.
pub async fn evaluate_robustness(
    gpu: &Gpu,
    model: &Model,
    data: &Dataset,
    attacks: &[AttackConfig],
    batch_size: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Robustness> {
    let n = data.len();
    let k = model.classes;
    let bs = model.fitting_batch(gpu, batch_size)?;
    let batches = n.div_ceil(bs);
    let mut out = Robustness {
        labels: Vec::new(),
        clean_pred: Vec::new(),
        attacks: attacks.iter().map(|c| AttackOutcome { config: c.clone(), robust: Vec::new(), seconds: 0.0, queries: Vec::new() }).collect(),
        worst_robust: Vec::new(),
        adversarial: Vec::new(),
        adv_pred: Vec::new(),
        clean: Vec::new(),
        zero_gradients: 0,
        outputs_probabilities: true,
    };
    let max_restarts = attacks.iter().map(|a| a.restarts).max().unwrap_or(1);
    for bi in 0..batches {
        let range = bi * bs..((bi + 1) * bs).min(n);
        let m = range.len();
        let (x0, labels, ys) = upload_range(gpu, data, range);
        let clean_logits = logits_of(gpu, model, &x0).await?;
        out.outputs_probabilities &= looks_like_probabilities(&clean_logits, k);
        let clean_pred = argmax_rows(&clean_logits, k);
        let clean_ok: Vec<bool> = clean_pred.iter().zip(&ys).map(|(p, y)| p == y).collect();
        // The misclassification record: cross-entropy, untargeted, so that points found by
        // different attacks (and objectives) compare on one scale.
        let ce = Objective { loss: AdvLoss::Ce, labels: &labels, targets: None, reference: None };
        let at_clean = probe(gpu, model, &ce, &x0, true);
        let grad = gpu.read_f32(at_clean.grad.as_ref().unwrap()).await?;
        out.zero_gradients += grad.chunks(x0.numel() / m).filter(|g| g.iter().all(|&v| v == 0.0)).count();
        let worst = WorstCase::new(gpu, &x0);
        worst.observe(gpu, &x0, &at_clean);
        let targets: Vec<Tensor> = if attacks.iter().any(|a| a.targeted) {
            runner_up_targets(&clean_logits, &ys, k, max_restarts).iter().map(|t| gpu.upload_u32(t, &[m])).collect()
        } else {
            Vec::new()
        };
        let mut worst_ok = clean_ok.clone();
        for (cfg, outcome) in attacks.iter().zip(&mut out.attacks) {
            let t = web_time::Instant::now();
            let mut b = Batch::new(gpu, x0.clone(), labels.clone(), cfg, bi as u64);
            b.targets = targets.clone();
            let record = WorstCase::new(gpu, &x0);
            if let Some(q) = run_attack(gpu, model, cfg, &b, &record).await? {
                outcome.queries.extend(q);
            }
            let found = probe(gpu, model, &ce, &record.x, false);
            worst.observe(gpu, &record.x, &found);
            let success = gpu.read_u32(&found.success).await?;
            outcome.seconds += t.elapsed().as_secs_f64();
            for (i, s) in success.iter().enumerate() {
                let robust = clean_ok[i] && *s == 0;
                outcome.robust.push(robust);
                worst_ok[i] &= robust;
            }
        }
        let adv = gpu.read_f32(&worst.x).await?;
        out.adv_pred.extend(argmax_rows(&logits_of(gpu, model, &worst.x).await?, k));
        out.clean.extend(gpu.read_f32(&x0).await?);
        out.adversarial.extend(adv);
        out.worst_robust.extend(worst_ok);
        out.labels.extend(ys);
        out.clean_pred.extend(clean_pred);
        progress(bi + 1, batches);
    }
    Ok(out)
}

/// Robust accuracy under `attack` at each radius of `radii` (the attack's step scales with
/// the radius).
pub async fn robustness_curve(
    gpu: &Gpu,
    model: &Model,
    data: &Dataset,
    attack: &AttackConfig,
    radii: &[f32],
    batch_size: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<(f32, f64)>> {
    let mut curve = Vec::new();
    for (i, &eps) in radii.iter().enumerate() {
        let r = Box::pin(evaluate_robustness(gpu, model, data, &[attack.at_eps(eps)], batch_size, &mut |_, _| {})).await?;
        curve.push((eps, r.worst_accuracy()));
        progress(i + 1, radii.len());
    }
    Ok(curve)
}
