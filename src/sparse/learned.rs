//! Pruning by a learned mask: `epochs` of training the mask (HYDRA's scores or hard-concrete
//! gates) on the run's own loss, clean or adversarial, then the exact sparsity by the learned
//! ranking. The run's fine-tuning epochs follow with the mask fixed.

use super::hard_concrete::HardConcreteGates;
use super::hydra::Hydra;
use super::prune::Scope;
use crate::data::Splits;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::train::{evaluate, train_epoch, EpochStats, Hook, LrSchedule, Method, MethodSettings, Methods, Optimizer, OptimizerConfig, OptimizerKind, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LearnedMethod {
    /// Scores with top-k and a straight-through estimator, weights frozen (Sehwag et al. 2020).
    Hydra,
    /// Hard-concrete gates with an L0 penalty, weights trained too (Louizos et al. 2018).
    HardConcrete,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearnedMaskConfig {
    pub method: LearnedMethod,
    /// Share of the weights pruned in the end.
    pub sparsity: f64,
    /// Per layer (HYDRA's choice) or one ranking across layers.
    pub scope: Scope,
    /// Epochs of mask training before the run's epochs (which fine-tune under the mask).
    pub epochs: usize,
    /// The scores' (HYDRA: SGD, momentum 0.9, weight decay 1e-4, cosine) or the gate
    /// locations' (Adam) learning rate.
    pub lr: f32,
    /// Hard concrete: the weight of the expected share of open gates in the loss.
    pub l0: f32,
    /// Hard concrete: every gate's starting location.
    pub init_log_alpha: f32,
}

impl Default for LearnedMaskConfig {
    fn default() -> Self {
        LearnedMaskConfig { method: LearnedMethod::Hydra, sparsity: 0.9, scope: Scope::Layer, epochs: 2, lr: 0.1, l0: 1.0, init_log_alpha: 3.0 }
    }
}

impl LearnedMaskConfig {
    pub fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(AerError::Invalid(format!("learned-mask sparsity {}: give the share of weights pruned, from 0 up to (not including) 1", self.sparsity)));
        }
        if self.epochs == 0 || !(self.lr > 0.0) || !(self.l0 >= 0.0) {
            return Err(AerError::Invalid("a learned mask needs epochs >= 1, a positive lr and l0 >= 0".into()));
        }
        Ok(())
    }
}

/// Train `model`'s mask by `lm` on `splits.train` with `cfg`'s loss (the epoch hooks of
/// `methods`, adversarial training included), batch size and seed, then prune it to `lm.sparsity`; `opt`'s state is zeroed
/// at the pruned weights. `epoch_done(epoch, stats, validation accuracy)` follows each epoch.
pub async fn learn_mask(
    gpu: &Gpu,
    model: &mut Model,
    opt: Option<&Optimizer>,
    splits: &Splits,
    cfg: &TrainConfig,
    lm: &LearnedMaskConfig,
    methods: &mut Methods,
    epoch_done: &mut dyn FnMut(usize, &EpochStats, f64),
) -> Result<()> {
    lm.check()?;
    let mut mask_cfg = TrainConfig { epochs: lm.epochs, ..cfg.clone() };
    match lm.method {
        LearnedMethod::Hydra => {
            mask_cfg.optimizer = OptimizerConfig { kind: OptimizerKind::Sgd, lr: lm.lr, momentum: 0.9, weight_decay: 1e-4, ..OptimizerConfig::default() };
            mask_cfg.schedule = LrSchedule::Cosine;
            let mut h = Hydra::new(gpu, model, &mask_cfg.optimizer, lm.sparsity, lm.scope).await?;
            for e in 0..lm.epochs {
                let s = train_epoch(gpu, model, &mut h, &splits.train, &mask_cfg, e, methods, &[], &mut |_, _| {}).await?;
                epoch_done(e, &s, evaluate(gpu, model, &splits.val, 256).await?.accuracy);
            }
            h.prune(gpu, model, opt);
        }
        LearnedMethod::HardConcrete => {
            let mut g = HardConcreteGates::new(gpu, model, &cfg.optimizer, lm.lr, lm.l0, lm.init_log_alpha, cfg.seed).await?;
            for e in 0..lm.epochs {
                let s = train_epoch(gpu, model, &mut g, &splits.train, &mask_cfg, e, methods, &[], &mut |_, _| {}).await?;
                epoch_done(e, &s, evaluate(gpu, model, &splits.val, 256).await?.accuracy);
            }
            g.prune(gpu, model, opt, lm.sparsity, lm.scope);
        }
    }
    Ok(())
}

impl MethodSettings for LearnedMaskConfig {
    const KEY: &'static str = "learned_mask";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        LearnedMaskConfig::check(self)
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

/// Before the first epoch: the mask's own epochs, on the run's loss, then the prune; the
/// run's epochs fine-tune under it.
impl Method for LearnedMaskConfig {
    fn start<'a>(&'a mut self, run: &'a mut RunCtx<'_>, model: &'a mut Model, opt: &'a Optimizer) -> Hook<'a> {
        Box::pin(async move {
            let what = match self.method {
                LearnedMethod::Hydra => "HYDRA scores",
                LearnedMethod::HardConcrete => "hard-concrete gates",
            };
            let mut methods = run.registry.build(run.cfg)?;
            let (gpu, splits, cfg, epochs) = (run.gpu, run.splits, run.cfg, self.epochs);
            learn_mask(gpu, model, Some(opt), splits, cfg, self, &mut methods, &mut |e, s, val| {
                run.note(format!("{what}, epoch {}/{epochs}: train loss {:.4}, accuracy {:.2}%, val accuracy {:.2}%", e + 1, s.loss, 100.0 * s.accuracy, 100.0 * val));
            })
            .await?;
            run.note(format!("pruned {:.1}% of the weights by the learned {what} ({:?})", 100.0 * self.sparsity, self.scope));
            Ok(())
        })
    }
}
