//! Adversarial training: PGD (Madry et al., 2018), TRADES (Zhang et al., 2019), fast FGSM
//! with a random start (Wong et al., 2020) and N-FGSM, its noisier, unprojected form that
//! avoids catastrophic overfitting (de Jorge et al., 2022), with an eps curriculum and class-balanced
//! generation. The training attack uses its last iterate, as these methods define it; the
//! per-example worst case is for evaluation. As a training method (key `adv`) it replaces
//! each batch's loss by the loss on its training attack's examples, and selects the best
//! epoch by PGD robust accuracy on validation images.

use super::{probe, Batch, Objective};
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdvLoss, Norm, Start};
use crate::nn::Model;
use crate::train::{self, BatchCtx, EpochEnd, EpochRecord, EpochStart, EpochStats, Hook, MethodSettings, RobustRecord, RunCtx, TrainConfig};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
pub enum AdvMethod {
    /// Train on PGD examples only.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Pgd,
    /// Clean cross-entropy plus beta times KL(clean || adversarial), the attack maximising KL.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Trades,
    /// One step of 1.25 eps from a uniform random start (`step` and `steps` are not used).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Fgsm,
    /// N-FGSM (de Jorge et al., 2022): one step of eps from uniform noise of 2 eps, not
    /// projected back to the eps-ball, which keeps single-step training from catastrophic
    /// overfitting at large radii (`step` and `steps` are not used).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Nfgsm,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvTrainConfig {
    pub method: AdvMethod,
    pub norm: Norm,
    pub eps: f32,
    /// Step of the training attack at full eps (it scales with eps during the ramp).
    pub step: f32,
    pub steps: usize,
    pub random_start: bool,
    /// TRADES' weight on the KL term.
    pub beta: f32,
    /// Epochs over which eps rises linearly from 0 to eps (0: full eps from the start).
    pub ramp_epochs: usize,
    /// Fraction of each batch trained on adversarial examples (the rest stay clean).
    pub share: f32,
    /// Give classes with lower robust training accuracy a larger share of the adversarial
    /// examples (mean share stays `share`; needs share < 1).
    pub balance: bool,
    /// Validation examples attacked after every epoch (PGD with `val_steps` steps of `val_step`
    /// at full eps), for the per-epoch robust accuracy and model selection.
    pub val_examples: usize,
    pub val_steps: usize,
    pub val_step: f32,
}

impl Default for AdvTrainConfig {
    fn default() -> Self {
        // Madry et al.'s MNIST settings.
        AdvTrainConfig {
            method: AdvMethod::Pgd,
            norm: Norm::Linf,
            eps: 0.3,
            step: 0.01,
            steps: 40,
            random_start: true,
            beta: 6.0,
            ramp_epochs: 0,
            share: 1.0,
            balance: false,
            val_examples: 256,
            val_steps: 40,
            val_step: 0.01,
        }
    }
}

impl AdvTrainConfig {
    pub fn check(&self) -> Result<()> {
        if self.norm == Norm::Linf && self.eps > 1.0 {
            return Err(AerError::Invalid(format!("adversarial training's L-inf eps {} is more than the [0, 1] pixel range; give it in pixel units, e.g. 8/255 or 0.3", self.eps)));
        }
        if !(self.eps >= 0.0 && self.step > 0.0 && self.steps > 0) {
            return Err(AerError::Invalid(format!("adversarial training needs eps >= 0, step > 0 and steps >= 1 (got {}, {}, {})", self.eps, self.step, self.steps)));
        }
        if !(0.0..=1.0).contains(&self.share) {
            return Err(AerError::Invalid(format!("adversarial share {} is not in [0, 1]", self.share)));
        }
        if self.balance && self.share >= 1.0 {
            return Err(AerError::Invalid("class-balanced generation needs a share below 1 to redistribute (e.g. --adv-share 0.5)".into()));
        }
        Ok(())
    }

    /// The radius at global step `step` of an epoch with `steps_per_epoch` steps.
    pub fn eps_at(&self, epoch: usize, batch: usize, steps_per_epoch: usize) -> f32 {
        if self.ramp_epochs == 0 {
            return self.eps;
        }
        let t = (epoch * steps_per_epoch + batch + 1) as f32 / (self.ramp_epochs * steps_per_epoch) as f32;
        self.eps * t.min(1.0)
    }

    /// Per-class shares of adversarial examples from per-class robust training accuracy:
    /// weight 1 - accuracy (+0.05 so no class drops out), scaled to a mean of `share`.
    pub fn class_shares(&self, robust_by_class: Option<&[f64]>, classes: usize) -> Vec<f32> {
        match (self.balance, robust_by_class) {
            (true, Some(acc)) => {
                let w: Vec<f64> = acc.iter().map(|a| 1.0 - a + 0.05).collect();
                let total: f64 = w.iter().sum();
                w.iter().map(|w| ((self.share as f64 * classes as f64 * w / total) as f32).clamp(0.0, 1.0)).collect()
            }
            _ => vec![self.share; classes],
        }
    }
}

/// `cfg` with the settings its `adv` table leaves out taken from the data, as `aer attack`
/// takes its defaults (`super::conventional`): eps 0.3, 40 steps of 0.01 for grey-scale images,
/// eps 8/255, 10 steps of 2/255 for colour ones (L2: 2.0 / 0.5). `fit` applies it before the
/// table's other defaults (`AdvTrainConfig::default`, Madry's MNIST settings) fill the rest.
pub fn adv_data_defaults(cfg: &TrainConfig, input: [usize; 3]) -> TrainConfig {
    let mut cfg = cfg.clone();
    if let Some(serde_json::Value::Object(t)) = cfg.methods.get_mut(<AdvTrainConfig as MethodSettings>::KEY) {
        let norm = t.get("norm").and_then(|n| serde_json::from_value::<Norm>(n.clone()).ok()).unwrap_or(Norm::Linf);
        let (eps, step, steps) = super::conventional(input, norm);
        let num = |x: f32| crate::files::to_json_value(&x);
        for (key, value) in [("eps", num(eps)), ("step", num(step)), ("steps", steps.into()), ("val_step", num(step)), ("val_steps", steps.into())] {
            t.entry(key).or_insert(value);
        }
    }
    cfg
}

/// The training attack's examples for one batch (eps 0 leaves an example clean). TRADES's
/// attack maximises KL from the clean prediction `clean_logits`.
pub fn craft(gpu: &Gpu, model: &Model, cfg: &AdvTrainConfig, b: &Batch, clean_logits: Option<&Tensor>) -> Tensor {
    // The attack sees the model as evaluation does (no dropout), as TRADES crafts.
    model.evaluating(|| craft_on(gpu, model, cfg, b, clean_logits))
}

fn craft_on(gpu: &Gpu, model: &Model, cfg: &AdvTrainConfig, b: &Batch, clean_logits: Option<&Tensor>) -> Tensor {
    let (n, dim) = (b.len(), b.dim());
    let x = gpu.empty(b.x0.shape());
    let (loss, steps) = match cfg.method {
        AdvMethod::Trades => {
            // A small Gaussian start: KL and its gradient are exactly 0 at the clean input.
            let scale: Vec<f32> = b.eps_values.iter().map(|&e| if e > 0.0 { 0.001 } else { 0.0 }).collect();
            kernels::random_start(gpu, Start::Gaussian, &x, &b.x0, &gpu.upload(&scale, &[n]), b.salt as u32, n, dim);
            (AdvLoss::Kl, cfg.steps)
        }
        AdvMethod::Pgd | AdvMethod::Fgsm => {
            let fgsm = cfg.method == AdvMethod::Fgsm;
            if cfg.random_start || fgsm {
                let kind = if cfg.norm == Norm::Linf { Start::Box } else { Start::Ball };
                kernels::random_start(gpu, kind, &x, &b.x0, &b.eps, b.salt as u32, n, dim);
            } else {
                gpu.copy(&b.x0, &x);
            }
            (AdvLoss::Ce, if fgsm { 1 } else { cfg.steps })
        }
        AdvMethod::Nfgsm => {
            let kind = if cfg.norm == Norm::Linf { Start::Box } else { Start::Ball };
            let noise: Vec<f32> = b.eps_values.iter().map(|&e| NFGSM_NOISE * e).collect();
            kernels::random_start(gpu, kind, &x, &b.x0, &gpu.upload(&noise, &[n]), b.salt as u32, n, dim);
            (AdvLoss::Ce, 1)
        }
    };
    // N-FGSM keeps the whole step: the ball it projects onto holds noise and step.
    let radius = match cfg.method {
        AdvMethod::Nfgsm => gpu.upload(&b.eps_values.iter().map(|&e| (NFGSM_NOISE + 1.0) * e).collect::<Vec<f32>>(), &[n]),
        _ => b.eps.clone(),
    };
    let obj = Objective { loss, labels: &b.labels, targets: None, reference: clean_logits };
    for _ in 0..steps {
        let p = probe(gpu, model, &obj, &x, true);
        kernels::pgd_step(gpu, cfg.norm, &x, &b.x0, p.grad.as_ref().unwrap(), &radius, &b.step, n, dim);
    }
    x
}

/// N-FGSM's noise radius in units of eps (its step is eps).
const NFGSM_NOISE: f32 = 2.0;

/// PGD robust accuracy at the training radius on the first `val_examples` validation images.
pub async fn validation_robustness(gpu: &Gpu, model: &Model, val: &Dataset, a: &AdvTrainConfig) -> Result<f64> {
    if a.val_examples == 0 {
        return Ok(0.0);
    }
    let attack = super::AttackConfig::pgd(a.norm, a.eps, a.val_step, a.val_steps, 0);
    let r = super::evaluate_robustness(gpu, model, &val.head(a.val_examples), &[attack], 256, &mut |_, _| {}).await?;
    Ok(r.worst_accuracy())
}

impl MethodSettings for AdvTrainConfig {
    const KEY: &'static str = "adv";

    fn data_defaults(cfg: &TrainConfig, input: [usize; 3]) -> TrainConfig {
        adv_data_defaults(cfg, input)
    }

    fn check(&self, cfg: &TrainConfig) -> Result<()> {
        AdvTrainConfig::check(self)?;
        if cfg.has("certify") {
            return Err(AerError::Invalid("certified training (certify) and adversarial training (adv) are separate losses; choose one".into()));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn train::Method> {
        Box::new(Adversarial { cfg: self.clone(), epoch: 0, batches: 0, shares: Vec::new(), rng: rand::rngs::StdRng::seed_from_u64(0), attacked: Vec::new(), adv_correct: None, batch: None })
    }
}

/// Adversarial training's state through an epoch.
struct Adversarial {
    cfg: AdvTrainConfig,
    epoch: usize,
    batches: usize,
    /// Each class's share of adversarial examples this epoch.
    shares: Vec<f32>,
    /// Draws which examples are attacked.
    rng: rand::rngs::StdRng,
    /// Per slot: whether its example was attacked.
    attacked: Vec<bool>,
    /// TRADES: per slot, correct on the adversarial example (u32 [n]).
    adv_correct: Option<Tensor>,
    /// This step's attack batch.
    batch: Option<Batch>,
}

impl train::Method for Adversarial {
    fn begin_epoch(&mut self, e: &EpochStart) {
        let n = e.data.len();
        let prev_by_class = e.history.last().and_then(|r| r.robust.as_ref()).map(|r| r.train_robust_by_class.clone());
        self.shares = self.cfg.class_shares(prev_by_class.as_deref(), e.classes);
        self.rng = rand::rngs::StdRng::seed_from_u64(e.seed ^ 0xad5e_1ec7 ^ (e.epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        self.attacked = vec![false; n];
        self.adv_correct = (self.cfg.method == AdvMethod::Trades).then(|| e.gpu.empty_u32(&[n]));
        (self.epoch, self.batches) = (e.epoch, e.batches);
    }

    fn prepare_batch(&mut self, gpu: &Gpu, b: &BatchCtx) {
        let a = &self.cfg;
        let s = b.step;
        let eps = a.eps_at(s.epoch, s.batch, s.batches);
        let step = match a.method {
            AdvMethod::Fgsm => 1.25 * eps,
            AdvMethod::Nfgsm => eps,
            _ if a.eps > 0.0 => a.step * eps / a.eps,
            _ => a.step,
        };
        let m = b.labels.len();
        let (mut eps_v, mut step_v) = (Vec::with_capacity(m), Vec::with_capacity(m));
        for (k, &label) in b.labels.iter().enumerate() {
            let chosen = self.rng.random::<f32>() < self.shares[label as usize];
            self.attacked[b.offset + k] = chosen;
            eps_v.push(if chosen { eps } else { 0.0 });
            step_v.push(if chosen { step } else { 0.0 });
        }
        let salt = crate::reference::common::pcg((s.seed as u32) ^ (s.step as u32).wrapping_mul(0x9e37_79b9)) as u64;
        self.batch = Some(Batch::with_radii(gpu, b.x.clone(), b.y.clone(), eps_v, step_v, salt));
    }

    fn batch_gradients(&mut self, gpu: &Gpu, model: &Model, b: &BatchCtx) -> bool {
        let (a, batch) = (&self.cfg, self.batch.as_ref().expect("prepare_batch ran"));
        let (m, classes) = (b.x.shape()[0], model.classes);
        let mut tape = model.tape();
        let dlogits = if a.method == AdvMethod::Trades {
            let clean_logits = model.forward(gpu, b.x.clone(), None);
            let x_adv = craft(gpu, model, a, batch, Some(&clean_logits));
            let mut shape = b.x.shape().to_vec();
            shape[0] *= 2;
            let both = gpu.empty(&shape);
            gpu.copy_range(b.x, 0, &both, 0, b.x.numel());
            gpu.copy_range(&x_adv, 0, &both, b.x.numel(), b.x.numel());
            let logits = model.forward(gpu, both, Some(&mut tape));
            let dlogits = gpu.empty(logits.shape());
            let adv_correct = self.adv_correct.as_ref().expect("allocated for TRADES");
            kernels::trades_xent(gpu, &logits, b.y, &dlogits, b.loss, b.correct, adv_correct, a.beta, m, classes, b.offset);
            dlogits
        } else {
            let x_adv = craft(gpu, model, a, batch, None);
            let logits = model.forward(gpu, x_adv, Some(&mut tape));
            let dlogits = gpu.empty(logits.shape());
            kernels::softmax_xent(gpu, &logits, b.y, &dlogits, b.loss, b.correct, m, classes, b.offset);
            dlogits
        };
        model.backward(gpu, tape, dlogits, false);
        true
    }

    /// Accuracy on the attacked examples, overall and per class. Without TRADES the training
    /// examples are the adversarial ones, so the clean outputs' hits are it.
    fn end_epoch<'a>(&'a mut self, e: &'a EpochEnd<'a>, stats: &'a mut EpochStats) -> Hook<'a> {
        Box::pin(async move {
            let trades: Vec<u32>;
            let adv_hits = match &self.adv_correct {
                Some(t) => {
                    trades = bytemuck::pod_collect_to_vec(&e.gpu.read_bytes(&[t]).await?[0]);
                    &trades
                }
                None => e.hits,
            };
            let mut by_class = vec![(0usize, 0usize); e.classes];
            for i in (0..e.order.len()).filter(|&i| self.attacked[i]) {
                let c = &mut by_class[e.data.labels[e.order[i] as usize] as usize];
                c.0 += adv_hits[i] as usize;
                c.1 += 1;
            }
            let (r, t) = by_class.iter().fold((0, 0), |(r, t), c| (r + c.0, t + c.1));
            stats.robust_accuracy = Some(r as f64 / t.max(1) as f64);
            stats.robust_by_class = Some(by_class);
            Ok(())
        })
    }

    fn record<'a>(&'a mut self, run: &'a RunCtx<'_>, model: &'a Model, stats: &'a EpochStats, rec: &'a mut EpochRecord) -> Hook<'a> {
        Box::pin(async move {
            let a = &self.cfg;
            rec.robust = Some(RobustRecord {
                eps: a.eps_at(self.epoch, self.batches - 1, self.batches),
                train_robust_accuracy: stats.robust_accuracy.unwrap_or(0.0),
                train_robust_by_class: stats.robust_by_class.clone().unwrap_or_default().iter().map(|&(r, t)| r as f64 / t.max(1) as f64).collect(),
                class_shares: self.shares.clone(),
                val_robust_accuracy: validation_robustness(run.gpu, model, &run.splits.val, a).await?,
            });
            Ok(())
        })
    }
}

#[cfg(test)]
mod data_default_tests {
    use super::*;

    /// A left-out radius follows the data as `aer attack`'s does; a given one is kept.
    #[test]
    fn left_out_radius_and_steps_follow_the_data() {
        let cfg = |table: serde_json::Value| TrainConfig { methods: [("adv".to_string(), table)].into_iter().collect(), ..Default::default() };
        let read = |c: &TrainConfig| c.method::<AdvTrainConfig>().unwrap().unwrap();
        let colour = read(&adv_data_defaults(&cfg(serde_json::json!({ "method": "pgd" })), [3, 32, 32]));
        assert_eq!((colour.eps, colour.step, colour.steps, colour.val_step, colour.val_steps), (8.0 / 255.0, 2.0 / 255.0, 10, 2.0 / 255.0, 10));
        let grey = read(&adv_data_defaults(&cfg(serde_json::json!({})), [1, 28, 28]));
        assert_eq!((grey.eps, grey.step, grey.steps), (0.3, 0.01, 40));
        let given = read(&adv_data_defaults(&cfg(serde_json::json!({ "eps": 0.1, "norm": "l2" })), [3, 32, 32]));
        assert_eq!((given.eps, given.steps), (0.1, 10));
        assert!(!adv_data_defaults(&TrainConfig::default(), [3, 32, 32]).has("adv"));
    }
}
