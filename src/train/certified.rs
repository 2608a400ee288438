//! Certified training with interval bounds (Gowal et al., 2018): the loss mixes clean
//! cross-entropy with cross-entropy on the worst-case logits the bounds allow,
//! kappa * CE(z, y) + (1 - kappa) * CE(z_worst, y), where z_worst_j is the upper bound of
//! z_j - z_y. After clean warm-up epochs, eps rises linearly from 0 and kappa falls from 1 to
//! `kappa_end` over the ramp, step by step (the standard schedule).

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
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
