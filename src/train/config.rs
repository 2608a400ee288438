//! Training settings, as the command line and pipeline files give them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Adam,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub lr: f32,
    /// SGD momentum.
    pub momentum: f32,
    pub nesterov: bool,
    pub weight_decay: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            decoupled: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    Constant,
    /// Cosine decay from lr to 0 over the whole run, per step.
    Cosine,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub optimizer: OptimizerConfig,
    pub schedule: LrSchedule,
    /// Adversarial training, when set.
    pub adv: Option<super::AdvTrainConfig>,
    /// Certified training with interval bounds, when set (not with `adv`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certify: Option<super::CertifiedConfig>,
    /// Dynamic sparse training from scratch (RigL, SET), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<crate::sparse::DynamicSparseConfig>,
    /// Prune whole channels or to N:M sparsity before the first epoch (the mask then stays
    /// fixed), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_prune: Option<StructuredPrune>,
    /// Corruption-resistant training (adversarial weight perturbation), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_perturb: Option<WeightPerturbConfig>,
    /// Prune whole blocks before the first epoch (and keep the mask fixed), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_prune: Option<BlockPruneConfig>,
    /// Magnitude pruning during training (one-shot or gradual), when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<GradualPrune>,
    /// SNIP: prune at initialisation by connection sensitivity (the mask then stays fixed),
    /// when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snip: Option<SnipConfig>,
    /// Prune by a learned mask (HYDRA, hard concrete) before the first epoch, when set: its
    /// own epochs train the mask, then the run's epochs fine-tune under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned_mask: Option<crate::sparse::LearnedMaskConfig>,
    /// Search for an early-bird ticket while training and prune to it once its mask has
    /// settled, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_bird: Option<crate::sparse::EarlyBirdConfig>,
    /// BinaryRelax for a ternary (TWN) model, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relax: Option<RelaxConfig>,
    /// Hyperspherical quantization for a ternary (TWN) model, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq: Option<HqConfig>,
}

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
        GradualPrune { sparsity: self.sparsity, ramp_epochs: self.sphere_epochs(epochs), scope: crate::sparse::Scope::Layer }
    }

    pub fn check(&self, epochs: usize) -> crate::Result<()> {
        if !((0.0..1.0).contains(&self.sparsity) && self.sphere_fraction > 0.0 && self.sphere_fraction < 1.0) {
            return Err(crate::AerError::Invalid(format!("HQ needs sparsity in [0, 1) and sphere_fraction in (0, 1); got {self:?}")));
        }
        if epochs < 2 {
            return Err(crate::AerError::Invalid(format!("HQ needs at least 2 epochs (a hyperspherical one, then a ternary one); got {epochs}")));
        }
        Ok(())
    }
}

/// BinaryRelax (Yin et al. 2018): the ternary model trains on its weights relaxed toward their
/// projection, (w + lambda Q(w)) / (1 + lambda), with lambda = `lambda0` * `growth`^epoch
/// (per step, smoothly), and on the exact projection for the last `exact_fraction` of the
/// epochs; `channel_sparsity` adds mu * sum of the output channels' norms to the loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaxConfig {
    pub lambda0: f32,
    pub growth: f32,
    pub exact_fraction: f64,
    pub channel_sparsity: f32,
}

impl Default for RelaxConfig {
    fn default() -> Self {
        RelaxConfig { lambda0: 1.0, growth: 2.0, exact_fraction: 0.25, channel_sparsity: 0.0 }
    }
}

impl RelaxConfig {
    /// The relaxation at `step` of `total` steps, `batches` per epoch (None: exact).
    pub fn lambda_at(&self, step: usize, total: usize, batches: usize) -> Option<f32> {
        if step as f64 >= (1.0 - self.exact_fraction) * total as f64 {
            return None;
        }
        Some(self.lambda0 * self.growth.powf(step as f32 / batches.max(1) as f32))
    }

    pub fn check(&self) -> crate::Result<()> {
        if !(self.lambda0 > 0.0 && self.growth >= 1.0 && (0.0..=1.0).contains(&self.exact_fraction) && self.channel_sparsity >= 0.0) {
            return Err(crate::AerError::Invalid(format!("BinaryRelax needs lambda0 > 0, growth >= 1, exact_fraction in [0, 1] and channel_sparsity >= 0; got {self:?}")));
        }
        Ok(())
    }
}

/// SNIP (Lee et al., 2019) before the first epoch: keep the 1 - `sparsity` share of weights
/// with the largest |dL/dw * w| on the first `batches` training batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnipConfig {
    pub sparsity: f64,
    #[serde(default = "one")]
    pub batches: usize,
    #[serde(default = "global_scope")]
    pub scope: crate::sparse::Scope,
}

fn one() -> usize {
    1
}

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
    pub scope: crate::sparse::Scope,
}

fn global_scope() -> crate::sparse::Scope {
    crate::sparse::Scope::Global
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

    pub fn check(&self, epochs: usize) -> crate::Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(crate::AerError::Invalid(format!("prune sparsity {}: give the share of weights to remove, from 0 up to (not including) 1", self.sparsity)));
        }
        if self.ramp_epochs > epochs {
            return Err(crate::AerError::Invalid(format!("prune ramp_epochs {} is more than the {epochs} training epochs: the final sparsity would never be reached", self.ramp_epochs)));
        }
        Ok(())
    }
}

/// One-shot block pruning before training: the share `sparsity` of each layer's (or all
/// layers') `block` x `block` weight blocks with the smallest mean square is removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockPruneConfig {
    pub sparsity: f64,
    pub block: usize,
    pub scope: crate::sparse::Scope,
    /// Keep the first and last weight layers dense.
    #[serde(default)]
    pub hidden_only: bool,
}

/// One-shot structured pruning before training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum StructuredPrune {
    /// The share `sparsity` of each hidden layer's output channels (filters) with the smallest
    /// mean square (the first and last weight layers stay whole).
    Channels { sparsity: f64 },
    /// In every group of `group` consecutive weights along a row, the `keep` largest stay.
    Nm { keep: usize, group: usize },
}

/// Take every step's gradient at weights moved `rho` times each layer's norm along that
/// gradient (the worst first-order L2 corruption of that size), so training minimises the
/// corrupted loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightPerturbConfig {
    pub rho: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 10, batch_size: 128, seed: 0, optimizer: OptimizerConfig::default(), schedule: LrSchedule::Cosine, adv: None, certify: None, dynamic: None, weight_perturb: None, structured_prune: None, block_prune: None, prune: None, snip: None, learned_mask: None, early_bird: None, relax: None, hq: None }
    }
}

impl TrainConfig {
    /// Learning rate at global step `step` of `total`.
    pub fn lr_at(&self, step: usize, total: usize) -> f32 {
        match self.schedule {
            LrSchedule::Constant => self.optimizer.lr,
            LrSchedule::Cosine => {
                let t = step as f32 / total.max(1) as f32;
                self.optimizer.lr * 0.5 * (1.0 + (std::f32::consts::PI * t.min(1.0)).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GradualPrune;

    #[test]
    fn the_cubic_schedule_rises_fast_then_levels_off() {
        let p = GradualPrune { sparsity: 0.9, ramp_epochs: 4, scope: crate::sparse::Scope::Global };
        let s: Vec<f64> = (0..6).map(|e| p.sparsity_at(e)).collect();
        // s_e = 0.9 (1 - (1 - (e + 1) / 4)^3)
        for (got, want) in s.iter().zip([0.9 * (1.0 - 0.421875), 0.9 * 0.875, 0.9 * (1.0 - 0.015625), 0.9, 0.9, 0.9]) {
            assert!((got - want).abs() < 1e-12, "{s:?}");
        }
        assert_eq!(GradualPrune { ramp_epochs: 0, ..p.clone() }.sparsity_at(0), 0.9);
        assert!(p.check(3).is_err() && p.check(4).is_ok());
    }
}
