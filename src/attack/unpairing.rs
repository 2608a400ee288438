//! Similarity-unpairing (Hong et al., "Publishing efficient on-device models increases
//! adversarial vulnerability", SaTML 2023): fine-tune a compressed sibling so that its input
//! gradients stop pointing where the full model's do, keeping its accuracy; transfer attacks
//! and transfer-prior query attacks through the sibling then help an attacker of the full
//! model less. As a training method (key `unpair`) each batch's loss is
//!
//!   J(theta) = mean_i CE_s(x_i, y_i) + weight * mean_i cos_i^2,
//!   cos_i = cos(g_i, f_i),  g_i = grad_x CE_s(x_i, y_i),  f_i = grad_x CE_f(x_i, y_i),
//!
//! with f_i, the full model's input gradient, a constant per example. The square drives the
//! gradients to orthogonal, not opposite: an anti-aligned sibling would still tell an
//! attacker where the full model's loss rises. The penalty's weight gradient is second order
//! (a gradient of an input gradient); with u_i = f_i/|f_i| - cos_i g_i/|g_i|, the derivative of
//! cos_i with respect to g_i is u_i / |g_i|, and grad_theta <g_i, u_i> is a directional
//! derivative of CE_s's weight gradient along the input, taken by central differences:
//!
//!   grad_theta cos_i ~ [grad_theta CE_s(x_i + h u_i) - grad_theta CE_s(x_i - h u_i)] / (2 h |g_i|)
//!
//! (exact as h -> 0 inside one linear region of a ReLU network; h is an L2 length in input
//! space, |u_i| <= 1). Examples with |g_i| <= `min_grad` (a loss near 0) are left out of the
//! penalty: f32 cannot resolve their finite difference, and 1 / |g_i| would magnify its
//! rounding. One forward and backward pass over [x ; x + h u ; x - h u] with the rows
//! of the logits' gradient weighted by `kernels::scale_rows` gives both terms at once.

use super::similarity::ce_input_gradient;
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, UnpairWeights};
use crate::nn::Model;
use crate::train::{self, BatchCtx, Checkpoint, EpochRecord, EpochStats, Hook, MethodSettings, Optimizer, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnpairConfig {
    /// The full model (a checkpoint) whose input gradients the sibling is moved away from.
    pub full: PathBuf,
    /// Weight of the mean squared input-gradient cosine in the loss.
    pub weight: f32,
    /// The finite-difference step along the input (an L2 length in pixel units).
    pub h: f32,
    /// Examples whose input-gradient norm |g_i| is at most this are left out of the penalty:
    /// their two cross-entropy gradients differ by less than f32 resolves (a loss near 0).
    pub min_grad: f32,
}

impl Default for UnpairConfig {
    fn default() -> Self {
        UnpairConfig { full: PathBuf::new(), weight: 1.0, h: 0.01, min_grad: 1e-4 }
    }
}

impl MethodSettings for UnpairConfig {
    const KEY: &'static str = "unpair";

    fn check(&self, cfg: &TrainConfig) -> Result<()> {
        if self.full.as_os_str().is_empty() {
            return Err(AerError::Invalid("similarity-unpairing needs the full model: --unpair-full CHECKPOINT (full under [train.unpair])".into()));
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(AerError::Invalid(format!("unpair weight {}: give the penalty's weight, a number >= 0, e.g. 1", self.weight)));
        }
        if !(self.h.is_finite() && self.h > 0.0) {
            return Err(AerError::Invalid(format!("unpair h {}: give the finite-difference step, a small positive length, e.g. 0.01", self.h)));
        }
        if !(self.min_grad.is_finite() && self.min_grad >= 0.0) {
            return Err(AerError::Invalid(format!("unpair min_grad {}: give the smallest input-gradient norm the penalty uses, a number >= 0, e.g. 1e-4", self.min_grad)));
        }
        if let Some(other) = ["adv", "certify", "gaussian_noise"].into_iter().find(|k| cfg.has(k)) {
            return Err(AerError::Invalid(format!("similarity-unpairing (unpair) is a loss of its own, like {other}; choose one")));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn train::Method> {
        Box::new(Unpairing { cfg: self.clone(), checkpoint: None, full: None, error: None })
    }
}

/// Similarity-unpairing's state: the full model, read in `ready` and put on the GPU before
/// the first epoch.
struct Unpairing {
    cfg: UnpairConfig,
    checkpoint: Option<Checkpoint>,
    full: Option<Model>,
    /// An error putting the full model on the GPU, returned by the epoch's `record`.
    error: Option<AerError>,
}

impl train::Method for Unpairing {
    fn ready(&mut self, model: &Model) -> Result<()> {
        let ck = Checkpoint::load(&self.cfg.full)?;
        if ck.input != model.input || ck.classes != model.classes {
            return Err(AerError::checkpoint(
                &self.cfg.full,
                format!(
                    "takes inputs {:?} with {} classes, but the sibling being unpaired takes {:?} with {} classes; give the full model the sibling was compressed from",
                    ck.input, ck.classes, model.input, model.classes
                ),
            ));
        }
        self.checkpoint = Some(ck);
        Ok(())
    }

    fn before_epoch(&mut self, run: &mut RunCtx<'_>, _model: &mut Model, _opt: &Optimizer, _epoch: usize) {
        if self.full.is_none() {
            if let Some(ck) = &self.checkpoint {
                match ck.restore(run.gpu) {
                    Ok((m, _)) => self.full = Some(m),
                    Err(e) => self.error = Some(e),
                }
            }
        }
    }

    fn batch_gradients(&mut self, gpu: &Gpu, model: &Model, b: &BatchCtx) -> bool {
        let Some(full) = &self.full else { return false };
        unpairing_gradients(gpu, model, full, b.x, b.y, &self.cfg, b.loss, b.correct, b.offset);
        true
    }

    fn record<'a>(&'a mut self, _run: &'a RunCtx<'_>, _model: &'a Model, _stats: &'a EpochStats, _rec: &'a mut EpochRecord) -> Hook<'a> {
        let e = self.error.take();
        Box::pin(async move { e.map_or(Ok(()), Err) })
    }
}

/// Every parameter gradient of `sibling` for J = mean CE + weight * mean cos^2 (module docs)
/// on the batch x [m, ...] with labels y; each example's clean loss and correctness into
/// slots offset.. of `loss` and `correct`. Returns the per-example (cos, |g|, |f|, 0) [m, 4]
/// at the clean inputs.
#[allow(clippy::too_many_arguments)]
pub fn unpairing_gradients(gpu: &Gpu, sibling: &Model, full: &Model, x: &Tensor, y: &Tensor, cfg: &UnpairConfig, loss: &Tensor, correct: &Tensor, offset: usize) -> Tensor {
    let (weight, h) = (cfg.weight, cfg.h);
    let m = x.shape()[0];
    let d = x.numel() / m.max(1);
    let f = ce_input_gradient(gpu, full, x, y);
    let g = ce_input_gradient(gpu, sibling, x, y);
    let stats = gpu.empty(&[m, 4]);
    kernels::row_cosine(gpu, &g, &f, &stats, m, d);
    let mut shape = x.shape().to_vec();
    shape[0] = 3 * m;
    let (points, rows) = (gpu.empty(&shape), gpu.empty(&[3 * m]));
    // softmax_xent's gradient is of the mean over 3m rows: the clean rows times 3 give the
    // mean CE over m; a pair's rows times +-3 weight cos_i / (h |g_i|) give
    // (weight / m) * 2 cos_i * [CE(x + h u) - CE(x - h u)] / (2 h |g_i|), the penalty's term.
    let w = UnpairWeights { clean: 3.0, pair: 3.0 * weight / h, min_norm: cfg.min_grad };
    kernels::unpair_points(gpu, x, &g, &f, &stats, &points, &rows, h, w, m, d);
    let y3 = gpu.empty_u32(&[3 * m]);
    for k in 0..3 {
        gpu.copy_range(y, 0, &y3, k * m, m);
    }
    let mut tape = sibling.tape();
    let logits = sibling.forward(gpu, points, Some(&mut tape));
    let dlogits = gpu.empty(logits.shape());
    let (loss3, correct3) = (gpu.empty(&[3 * m]), gpu.empty_u32(&[3 * m]));
    kernels::softmax_xent(gpu, &logits, &y3, &dlogits, &loss3, &correct3, 3 * m, sibling.classes, 0);
    kernels::scale_rows(gpu, &dlogits, &rows, 3 * m);
    gpu.copy_range(&loss3, 0, loss, offset, m);
    gpu.copy_range(&correct3, 0, correct, offset, m);
    sibling.backward(gpu, tape, dlogits, false);
    stats
}
