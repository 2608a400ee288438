//! Certified training with interval bounds (Gowal et al., 2018): the loss mixes clean
//! cross-entropy with cross-entropy on the worst-case logits the bounds allow,
//! kappa * CE(z, y) + (1 - kappa) * CE(z_worst, y), where z_worst_j is the upper bound of
//! z_j - z_y. After clean warm-up epochs, eps rises linearly from 0 and kappa falls from 1 to
//! `kappa_end` over the ramp, step by step (the standard schedule). As a training method (key
//! `certify`) it replaces each batch's loss and selects the best epoch by verified validation
//! accuracy.

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use crate::train::{BatchCtx, CertifiedRecord, EpochEnd, EpochRecord, EpochStart, EpochStats, Hook, Method, MethodSettings, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertifiedConfig {
    /// The L-inf training radius at the end of the ramp.
    pub eps: f32,
    /// Epochs of clean training first (kappa 1, eps 0).
    pub warmup_epochs: usize,
    /// Epochs over which eps rises to `eps` and kappa falls to `kappa_end`.
    pub ramp_epochs: usize,
    /// The clean loss's final weight.
    pub kappa_end: f32,
}

impl Default for CertifiedConfig {
    fn default() -> Self {
        CertifiedConfig { eps: 0.1, warmup_epochs: 1, ramp_epochs: 6, kappa_end: 0.5 }
    }
}

impl CertifiedConfig {
    pub fn check(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps >= 0.0) {
            return Err(AerError::Invalid(format!("certified training radius {} must be finite and at least 0", self.eps)));
        }
        if !(0.0..=1.0).contains(&self.kappa_end) {
            return Err(AerError::Invalid(format!("certified training's final clean weight {} is not in [0, 1]", self.kappa_end)));
        }
        Ok(())
    }

    /// (eps, kappa) at batch `batch` of epoch `epoch` with `batches` per epoch.
    pub fn at(&self, epoch: usize, batch: usize, batches: usize) -> (f32, f32) {
        let step = (epoch * batches + batch + 1) as f32;
        let start = (self.warmup_epochs * batches) as f32;
        let t = if self.ramp_epochs == 0 {
            if step > start { 1.0 } else { 0.0 }
        } else {
            ((step - start) / (self.ramp_epochs * batches) as f32).clamp(0.0, 1.0)
        };
        (self.eps * t, 1.0 + (self.kappa_end - 1.0) * t)
    }
}

/// Per-example outputs of certified steps, in epoch-long buffers (`offset` = the batch's
/// first slot): clean loss and correctness, bound loss and (approximately: ties count)
/// verification at the step's eps.
pub struct CertifiedSlots<'a> {
    pub loss: &'a Tensor,
    pub correct: &'a Tensor,
    pub bound_loss: &'a Tensor,
    pub verified: &'a Tensor,
    pub offset: usize,
}

/// Write every parameter's gradient of the mixed loss on batch (x, y) at (eps, kappa).
pub fn certified_gradients(gpu: &Gpu, model: &Model, x: &Tensor, y: &Tensor, eps: f32, kappa: f32, out: &CertifiedSlots) {
    let (m, classes) = (x.shape()[0], model.classes);
    let mut tape = model.tape();
    let logits = model.forward(gpu, x.clone(), Some(&mut tape));
    let dlogits = gpu.empty(logits.shape());
    kernels::softmax_xent_weighted(gpu, &logits, y, &dlogits, out.loss, out.correct, m, classes, out.offset, kappa);
    model.backward_raw(gpu, tape, dlogits);
    let mut bounds_tape = model.bounds_tape();
    let bounds = model.bounds(gpu, x, y, eps, Some(&mut bounds_tape));
    let dworst = gpu.empty(bounds.worst.shape());
    kernels::softmax_xent_weighted(gpu, &bounds.worst, y, &dworst, out.bound_loss, out.verified, m, classes, out.offset, 1.0 - kappa);
    model.bounds_backward(gpu, bounds_tape, y, &dworst);
    model.finish_gradients(gpu);
}

impl MethodSettings for CertifiedConfig {
    const KEY: &'static str = "certify";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        CertifiedConfig::check(self)
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(Certified { cfg: self.clone(), epoch: 0, batches: 0, bound_loss: None, verified: None })
    }
}

/// Certified training's state through an epoch.
struct Certified {
    cfg: CertifiedConfig,
    epoch: usize,
    batches: usize,
    /// Per slot: the bound loss (f32 [n]) and verification at the step's radius (u32 [n]).
    bound_loss: Option<Tensor>,
    verified: Option<Tensor>,
}

impl Method for Certified {
    fn ready(&mut self, model: &Model) -> Result<()> {
        model.check_bounds()?;
        if model.has_batchnorm() {
            return Err(AerError::Invalid(format!("certified training of '{}': its batch normalization uses batch statistics in training, which interval bounds do not follow; certify a model without batchnorm layers (verifying one works)", model.spec.name)));
        }
        if !model.folds_last_layer() {
            return Err(AerError::Invalid(format!("certified training needs a model that ends with a linear layer; '{}' does not", model.spec.name)));
        }
        Ok(())
    }

    fn begin_epoch(&mut self, e: &EpochStart) {
        let n = e.data.len();
        (self.bound_loss, self.verified) = (Some(e.gpu.empty(&[n])), Some(e.gpu.empty_u32(&[n])));
        (self.epoch, self.batches) = (e.epoch, e.batches);
    }

    fn batch_gradients(&mut self, gpu: &Gpu, model: &Model, b: &BatchCtx) -> bool {
        let (eps, kappa) = self.cfg.at(b.step.epoch, b.step.batch, b.step.batches);
        let (bound_loss, verified) = (self.bound_loss.as_ref().expect("begin_epoch ran"), self.verified.as_ref().expect("begin_epoch ran"));
        let slots = CertifiedSlots { loss: b.loss, correct: b.correct, bound_loss, verified, offset: b.offset };
        certified_gradients(gpu, model, b.x, b.y, eps, kappa, &slots);
        true
    }

    fn end_epoch<'a>(&'a mut self, e: &'a EpochEnd<'a>, stats: &'a mut EpochStats) -> Hook<'a> {
        Box::pin(async move {
            let (Some(l), Some(v)) = (&self.bound_loss, &self.verified) else { return Ok(()) };
            let bytes = e.gpu.read_bytes(&[l, v]).await?;
            let l: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[0]);
            let v: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
            let n = e.order.len().max(1) as f64;
            stats.bound_loss = Some(l.iter().map(|&x| x as f64).sum::<f64>() / n);
            stats.verified_accuracy = Some(v.iter().map(|&x| x as f64).sum::<f64>() / n);
            Ok(())
        })
    }

    fn record<'a>(&'a mut self, run: &'a RunCtx<'_>, model: &'a Model, stats: &'a EpochStats, rec: &'a mut EpochRecord) -> Hook<'a> {
        Box::pin(async move {
            let (eps, kappa) = self.cfg.at(self.epoch, self.batches - 1, self.batches);
            let v = super::verify(run.gpu, model, &run.splits.val, self.cfg.eps, 256, &mut |_, _| {}).await?;
            rec.certified = Some(CertifiedRecord {
                eps,
                kappa,
                train_bound_loss: stats.bound_loss.unwrap_or(0.0),
                train_verified_accuracy: stats.verified_accuracy.unwrap_or(0.0),
                val_verified_accuracy: v.verified_accuracy(),
            });
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_ramps() {
        let c = CertifiedConfig { eps: 0.2, warmup_epochs: 1, ramp_epochs: 2, kappa_end: 0.5 };
        assert_eq!(c.at(0, 9, 10), (0.0, 1.0));
        let (e, k) = c.at(1, 9, 10);
        assert!((e - 0.1).abs() < 1e-6 && (k - 0.75).abs() < 1e-6, "{e} {k}");
        assert_eq!(c.at(3, 0, 10), (0.2, 0.5));
        let c0 = CertifiedConfig { ramp_epochs: 0, ..c };
        assert_eq!(c0.at(0, 9, 10), (0.0, 1.0));
        assert_eq!(c0.at(1, 0, 10), (0.2, 0.5));
    }
}
