//! Robustness of a model on a data set: clean accuracy, robust accuracy under each attack and
//! under the worst case across them (per example), and the robustness curve over radii.
//! Reads back once per batch, after its attacks; nothing inside an attack waits on the GPU.

use super::apgd::apgd;
use super::batch::{runner_up_targets, Batch};
use super::config::{AttackConfig, Method};
use super::fab::fab;
use super::journal::{BatchLog, NoLog};
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
    /// No examples yet, for `attacks`.
    pub fn empty(attacks: &[AttackConfig]) -> Robustness {
        Robustness {
            labels: Vec::new(),
            clean_pred: Vec::new(),
            attacks: attacks.iter().map(|c| AttackOutcome { config: c.clone(), robust: Vec::new(), seconds: 0.0, queries: Vec::new() }).collect(),
            worst_robust: Vec::new(),
            adversarial: Vec::new(),
            adv_pred: Vec::new(),
            clean: Vec::new(),
            zero_gradients: 0,
            outputs_probabilities: true,
        }
    }

    /// The examples of `more` (the same attacks) after these.
    pub fn append(&mut self, more: Robustness) {
        self.labels.extend(more.labels);
        self.clean_pred.extend(more.clean_pred);
        for (a, b) in self.attacks.iter_mut().zip(more.attacks) {
            a.robust.extend(b.robust);
            a.queries.extend(b.queries);
            a.seconds += b.seconds;
        }
        self.worst_robust.extend(more.worst_robust);
        self.adversarial.extend(more.adversarial);
        self.adv_pred.extend(more.adv_pred);
        self.clean.extend(more.clean);
        self.zero_gradients += more.zero_gradients;
        self.outputs_probabilities &= more.outputs_probabilities;
    }

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
    let (xs, ys) = gather_range(data, range);
    let (x0, labels) = upload_examples(gpu, &xs, &ys, data.shape);
    (x0, labels, ys)
}

/// Examples `range` of `data` on the CPU: (images, labels).
fn gather_range(data: &Dataset, range: std::ops::Range<usize>) -> (Vec<f32>, Vec<u32>) {
    let idx: Vec<u32> = (range.start as u32..range.end as u32).collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    data.gather(&idx, &mut xs, &mut ys);
    (xs, ys)
}

/// Images `xs` of `shape` and their labels `ys` as (x0, labels) on the GPU.
fn upload_examples(gpu: &Gpu, xs: &[f32], ys: &[u32], shape: [usize; 3]) -> (Tensor, Tensor) {
    let [c, h, w] = shape;
    (gpu.upload(xs, &[ys.len(), c, h, w]), gpu.upload_u32(ys, &[ys.len()]))
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
    evaluate_robustness_logged(gpu, model, data, attacks, false, batch_size, progress, &mut NoLog).await
}

/// `evaluate_robustness`, taking the batches `log` recalls as done and handing it each batch
/// it attacks, so that a long evaluation resumes where it stopped. A batch's random starts
/// depend on its index alone: a resumed evaluation finds what an uninterrupted one finds.
/// With `cascade`, each attack runs only on the examples the ones before it left robust
/// (AutoAttack's order of work): the same worst case for less work, while each attack's own
/// accuracy becomes the accuracy after it.
#[allow(clippy::too_many_arguments)]
pub async fn evaluate_robustness_logged(
    gpu: &Gpu,
    model: &Model,
    data: &Dataset,
    attacks: &[AttackConfig],
    cascade: bool,
    batch_size: usize,
    progress: &mut dyn FnMut(usize, usize),
    log: &mut dyn BatchLog,
) -> Result<Robustness> {
    let n = data.len();
    let bs = model.fitting_batch(gpu, batch_size)?;
    let batches = n.div_ceil(bs);
    let mut out = Robustness::empty(attacks);
    for bi in 0..batches {
        let range = bi * bs..((bi + 1) * bs).min(n);
        let batch = match log.recall(bi, attacks)? {
            Some(done) => {
                check_recalled(&done, data, range, bi)?;
                done
            }
            None => {
                let b = attack_batch(gpu, model, data, attacks, cascade, range, bi).await?;
                log.record(bi, &b)?;
                b
            }
        };
        out.append(batch);
        progress(bi + 1, batches);
    }
    Ok(out)
}

/// A recalled batch must hold the examples this evaluation gives that index.
fn check_recalled(done: &Robustness, data: &Dataset, range: std::ops::Range<usize>, bi: usize) -> Result<()> {
    let labels: Vec<u32> = range.clone().map(|i| data.labels[i] as u32).collect();
    if done.labels != labels || done.attacks.iter().any(|a| a.robust.len() != labels.len()) {
        return Err(crate::error::AerError::Invalid(format!(
            "batch {bi} recorded earlier holds other examples than examples {}..{} of this evaluation (another batch size, data set or --n); delete the earlier record or give another --out",
            range.start, range.end
        )));
    }
    Ok(())
}

/// Examples `range` of `data` (batch `bi`: its index salts the random starts) under each of
/// `attacks`, with the worst case across them.
async fn attack_batch(gpu: &Gpu, model: &Model, data: &Dataset, attacks: &[AttackConfig], cascade: bool, range: std::ops::Range<usize>, bi: usize) -> Result<Robustness> {
    let k = model.classes;
    let m = range.len();
    let max_restarts = attacks.iter().map(|a| a.restarts).max().unwrap_or(1);
    let mut out = Robustness::empty(attacks);
    let (clean, ys) = gather_range(data, range);
    let (x0, labels) = upload_examples(gpu, &clean, &ys, data.shape);
    let clean_logits = logits_of(gpu, model, &x0).await?;
    out.outputs_probabilities = looks_like_probabilities(&clean_logits, k);
    let clean_pred = argmax_rows(&clean_logits, k);
    let clean_ok: Vec<bool> = clean_pred.iter().zip(&ys).map(|(p, y)| p == y).collect();
    // The misclassification record: cross-entropy, untargeted, so that points found by
    // different attacks (and objectives) compare on one scale.
    let ce = Objective { loss: AdvLoss::Ce, labels: &labels, targets: None, reference: None };
    let at_clean = probe(gpu, model, &ce, &x0, true);
    let grad = gpu.read_f32(at_clean.grad.as_ref().unwrap()).await?;
    out.zero_gradients = grad.chunks(x0.numel() / m).filter(|g| g.iter().all(|&v| v == 0.0)).count();
    let worst = WorstCase::new(gpu, &x0);
    worst.observe(gpu, &x0, &at_clean);
    let targets = if attacks.iter().any(|a| a.targeted) { runner_up_targets(&clean_logits, &ys, k, max_restarts) } else { Vec::new() };
    let mut worst_ok = clean_ok.clone();
    for (cfg, outcome) in attacks.iter().zip(&mut out.attacks) {
        let t = web_time::Instant::now();
        // The examples this attack works on: all, or in a cascade those still robust.
        let alive: Vec<usize> = (0..m).filter(|&i| !cascade || worst_ok[i]).collect();
        let mut queries = vec![0u32; m];
        let robust = if alive.is_empty() {
            vec![false; m]
        } else {
            let sub = Subset::of(gpu, (&clean, &ys, data.shape), &alive, &targets, alive.len() < m);
            let (x, y) = sub.x0.as_ref().map_or((&x0, &labels), |(x, y)| (x, y));
            let mut b = Batch::new(gpu, x.clone(), y.clone(), cfg, bi as u64);
            b.targets = sub.targets.iter().map(|t| gpu.upload_u32(t, &[alive.len()])).collect();
            let record = WorstCase::new(gpu, x);
            if let Some(q) = run_attack(gpu, model, cfg, &b, &record).await? {
                alive.iter().zip(q).for_each(|(&i, q)| queries[i] = q);
            }
            // The points found, as a whole batch: the others at their clean input.
            let found_x = match sub.x0 {
                None => record.x.clone(),
                Some(_) => {
                    let found = gpu.read_f32(&record.x).await?;
                    let d = clean.len() / m;
                    let mut whole = clean.clone();
                    alive.iter().zip(found.chunks(d)).for_each(|(&i, row)| whole[i * d..(i + 1) * d].copy_from_slice(row));
                    gpu.upload(&whole, x0.shape())
                }
            };
            let found = probe(gpu, model, &ce, &found_x, false);
            worst.observe(gpu, &found_x, &found);
            let success = gpu.read_u32(&found.success).await?;
            let mut robust = vec![false; m];
            alive.iter().for_each(|&i| robust[i] = clean_ok[i] && success[i] == 0);
            robust
        };
        if cfg.method == Method::Square {
            outcome.queries.extend(queries);
        }
        outcome.seconds += t.elapsed().as_secs_f64();
        for (i, r) in robust.into_iter().enumerate() {
            outcome.robust.push(r);
            worst_ok[i] &= r;
        }
    }
    out.adversarial = gpu.read_f32(&worst.x).await?;
    out.adv_pred = argmax_rows(&logits_of(gpu, model, &worst.x).await?, k);
    out.clean = clean;
    out.worst_robust = worst_ok;
    out.labels = ys;
    out.clean_pred = clean_pred;
    Ok(out)
}

/// The examples of a batch one attack of a cascade works on.
struct Subset {
    /// Their inputs and labels, when fewer than the whole batch.
    x0: Option<(Tensor, Tensor)>,
    /// Their target classes, per restart.
    targets: Vec<Vec<u32>>,
}

impl Subset {
    /// Examples `alive` of the batch (its images, labels and image shape); `targets` are the
    /// whole batch's.
    fn of(gpu: &Gpu, (xs, ys, shape): (&[f32], &[u32], [usize; 3]), alive: &[usize], targets: &[Vec<u32>], part: bool) -> Subset {
        let pick = |v: &[u32]| -> Vec<u32> { alive.iter().map(|&i| v[i]).collect() };
        let targets = targets.iter().map(|t| pick(t)).collect();
        let x0 = part.then(|| {
            let d = xs.len() / ys.len();
            let rows: Vec<f32> = alive.iter().flat_map(|&i| &xs[i * d..(i + 1) * d]).copied().collect();
            upload_examples(gpu, &rows, &pick(ys), shape)
        });
        Subset { x0, targets }
    }
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
