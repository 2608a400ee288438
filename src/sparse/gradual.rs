//! Gradual magnitude pruning as a training method: before each epoch the sparsity rises
//! along the cubic schedule, and only epochs at the final sparsity compete for the best.

use super::{magnitude_prune, Scope};
use crate::error::{AerError, Result};
use crate::nn::Model;
use crate::train::{Method, MethodSettings, Optimizer, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

/// Magnitude pruning while training: at the start of each epoch the sparsity is raised along
/// Zhu & Gupta's cubic schedule, s_e = s (1 - (1 - (e + 1) / R)^3), reaching `sparsity` after
/// `ramp_epochs` = R epochs (0 or 1: all at once, before the first epoch). Weights once pruned
/// stay pruned. With adversarial training in the same config this is adversarial pruning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradualPrune {
    pub sparsity: f64,
    #[serde(default)]
    pub ramp_epochs: usize,
    #[serde(default = "global_scope")]
    pub scope: Scope,
}

pub(super) fn global_scope() -> Scope {
    Scope::Global
}

impl GradualPrune {
    /// The sparsity of epoch `epoch` (0-based).
    pub fn sparsity_at(&self, epoch: usize) -> f64 {
        if self.ramp_epochs <= 1 {
            return self.sparsity;
        }
        let t = ((epoch + 1) as f64 / self.ramp_epochs as f64).min(1.0);
        self.sparsity * (1.0 - (1.0 - t).powi(3))
    }

    /// The sparsity to prune to before `epoch`, when the schedule raises it then (once
    /// reached, a sparsity stays: the masks hold it).
    pub fn raised_at(&self, epoch: usize) -> Option<f64> {
        let target = self.sparsity_at(epoch);
        (target > 0.0 && (epoch == 0 || target > self.sparsity_at(epoch - 1))).then_some(target)
    }

    pub fn check(&self, epochs: usize) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(AerError::Invalid(format!("prune sparsity {}: give the share of weights to remove, from 0 up to (not including) 1", self.sparsity)));
        }
        if self.ramp_epochs > epochs {
            return Err(AerError::Invalid(format!("prune ramp_epochs {} is more than the {epochs} training epochs: the final sparsity would never be reached", self.ramp_epochs)));
        }
        Ok(())
    }
}

impl MethodSettings for GradualPrune {
    const KEY: &'static str = "prune";

    fn check(&self, cfg: &TrainConfig) -> Result<()> {
        GradualPrune::check(self, cfg.epochs)
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for GradualPrune {
    fn changes_masks(&self) -> bool {
        true
    }

    fn before_epoch(&mut self, run: &mut RunCtx<'_>, model: &mut Model, opt: &Optimizer, epoch: usize) {
        if let Some(target) = self.raised_at(epoch) {
            magnitude_prune(run.gpu, model, Some(opt), target, self.scope);
            run.note(format!("epoch {}: pruned to {:.1}% sparsity ({:?})", epoch + 1, 100.0 * target, self.scope));
        }
    }

    /// Under a pruning schedule only epochs at the final sparsity compete for best.
    fn eligible(&self, epoch: usize, _epochs: usize) -> bool {
        self.sparsity_at(epoch) >= self.sparsity
    }
}

#[cfg(test)]
mod tests {
    use super::{GradualPrune, Scope};

    #[test]
    fn the_cubic_schedule_rises_fast_then_levels_off() {
        let p = GradualPrune { sparsity: 0.9, ramp_epochs: 4, scope: Scope::Global };
        let s: Vec<f64> = (0..6).map(|e| p.sparsity_at(e)).collect();
        // s_e = 0.9 (1 - (1 - (e + 1) / 4)^3)
        for (got, want) in s.iter().zip([0.9 * (1.0 - 0.421875), 0.9 * 0.875, 0.9 * (1.0 - 0.015625), 0.9, 0.9, 0.9]) {
            assert!((got - want).abs() < 1e-12, "{s:?}");
        }
        assert_eq!(GradualPrune { ramp_epochs: 0, ..p.clone() }.sparsity_at(0), 0.9);
        assert!(p.check(3).is_err() && p.check(4).is_ok());
    }
}
