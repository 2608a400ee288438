//! Hyperspherical quantization as a training method: before each epoch of the hyperspherical
//! phase the ternary layers are pruned along the schedule and kept on their spheres; at the
//! first ternary epoch they are reinitialised to their ternary direction.

use crate::error::{AerError, Result};
use crate::nn::Model;
use crate::sparse::{magnitude_prune_layers, GradualPrune, Scope};
use crate::train::{Method, MethodSettings, Optimizer, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

/// Hyperspherical quantization (HQ, Liu et al. 2022), as this crate implements it: for the
/// first `sphere_fraction` of the epochs the ternary layers train in full precision with each
/// output channel's weights held on a hypersphere (its norm at the start), so only their
/// direction is learned, while magnitude pruning raises each layer's sparsity to `sparsity`
/// along the cubic schedule; then the kept weights are reinitialised to the ternary point of
/// their direction (cosine distance 0 to their ternary weights) and the remaining epochs train
/// ternary with TWN's quantizer and the straight-through estimator. The pruned weights enter
/// that phase as ternary zeros, and the quantizer's threshold decides after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HqConfig {
    pub sparsity: f64,
    pub sphere_fraction: f64,
}

impl Default for HqConfig {
    fn default() -> Self {
        HqConfig { sparsity: 0.5, sphere_fraction: 0.5 }
    }
}

impl HqConfig {
    /// Epochs of the hyperspherical phase: at least one, and at least one ternary epoch after.
    pub fn sphere_epochs(&self, epochs: usize) -> usize {
        ((self.sphere_fraction * epochs as f64).round() as usize).clamp(1, epochs.saturating_sub(1).max(1))
    }

    /// The hyperspherical phase's pruning: per layer, cubic, reaching `sparsity` in its last
    /// epoch.
    pub fn schedule(&self, epochs: usize) -> GradualPrune {
        GradualPrune { sparsity: self.sparsity, ramp_epochs: self.sphere_epochs(epochs), scope: Scope::Layer }
    }

    pub fn check(&self, epochs: usize) -> Result<()> {
        if !((0.0..1.0).contains(&self.sparsity) && self.sphere_fraction > 0.0 && self.sphere_fraction < 1.0) {
            return Err(AerError::Invalid(format!("HQ needs sparsity in [0, 1) and sphere_fraction in (0, 1); got {self:?}")));
        }
        if epochs < 2 {
            return Err(AerError::Invalid(format!("HQ needs at least 2 epochs (a hyperspherical one, then a ternary one); got {epochs}")));
        }
        Ok(())
    }
}

impl MethodSettings for HqConfig {
    const KEY: &'static str = "hq";

    fn check(&self, cfg: &TrainConfig) -> Result<()> {
        HqConfig::check(self, cfg.epochs)
    }

    fn method(&self, cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(Hq { cfg: self.clone(), epochs: cfg.epochs })
    }
}

struct Hq {
    cfg: HqConfig,
    epochs: usize,
}

impl Method for Hq {
    fn changes_masks(&self) -> bool {
        true
    }

    fn before_epoch(&mut self, run: &mut RunCtx<'_>, model: &mut Model, opt: &Optimizer, epoch: usize) {
        hyperspherical_phase(run, model, opt, &self.cfg, epoch);
    }

    /// HQ's full-precision phase does not compete for the best epoch.
    fn eligible(&self, epoch: usize, _epochs: usize) -> bool {
        epoch >= self.cfg.sphere_epochs(self.epochs)
    }
}

/// HQ before `epoch`: on the hypersphere (started anew after a resume: the rows' norms are
/// their radii), pruning each ternary layer along the schedule; at the first ternary epoch,
/// the reinitialisation.
fn hyperspherical_phase(run: &mut RunCtx<'_>, model: &mut Model, opt: &Optimizer, hq: &HqConfig, epoch: usize) {
    let (gpu, epochs) = (run.gpu, run.cfg.epochs);
    let Some(q) = &model.quant else { return };
    let sphere_epochs = hq.sphere_epochs(epochs);
    if epoch > sphere_epochs {
        return;
    }
    let layers: Vec<usize> = q.weights.iter().map(|w| w.param).collect();
    if let Some(target) = hq.schedule(epochs).raised_at(epoch).filter(|_| epoch < sphere_epochs) {
        magnitude_prune_layers(gpu, model, Some(opt), &layers, target, Scope::Layer);
        run.note(format!("epoch {}: HQ on the hypersphere, ternary layers pruned to {:.1}%", epoch + 1, 100.0 * target));
    }
    let q = model.quant.as_ref().unwrap();
    if !q.in_sphere() {
        q.begin_sphere(gpu, &model.params);
    }
    if epoch == sphere_epochs {
        q.end_sphere(gpu, &model.params);
        // The pruned weights start the ternary phase as ternary zeros, free to grow past the
        // threshold again (kept pruned, they cost validation accuracy: 94.2% against 94.7% on
        // mlp).
        for i in layers {
            model.params[i].mask = None;
        }
        run.note(format!("epoch {}: HQ reinitialised the kept weights to their ternary direction; ternary training from here", epoch + 1));
    }
}
