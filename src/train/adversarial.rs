//! Adversarial training: PGD (Madry et al., 2018), TRADES (Zhang et al., 2019) and fast FGSM
//! with a random start (Wong et al., 2020), with an eps curriculum and class-balanced
//! generation. The training attack uses its last iterate, as these methods define it; the
//! per-example worst case is for evaluation.

use crate::attack::{probe, Batch, Objective};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdvLoss, Norm, Start};
use crate::nn::Model;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvMethod {
    /// Train on PGD examples only.
    Pgd,
    /// Clean cross-entropy plus beta times KL(clean || adversarial), the attack maximising KL.
    Trades,
    /// One step of 1.25 eps from a uniform random start (`step` and `steps` are not used).
    Fgsm,
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

/// The training attack's examples for one batch (eps 0 leaves an example clean). TRADES's
/// attack maximises KL from the clean prediction `clean_logits`.
pub fn craft(gpu: &Gpu, model: &Model, cfg: &AdvTrainConfig, b: &Batch, clean_logits: Option<&Tensor>) -> Tensor {
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
    };
    let obj = Objective { loss, labels: &b.labels, targets: None, reference: clean_logits };
    for _ in 0..steps {
        let p = probe(gpu, model, &obj, &x, true);
        kernels::pgd_step(gpu, cfg.norm, &x, &b.x0, p.grad.as_ref().unwrap(), &b.eps, &b.step, n, dim);
    }
    x
}
