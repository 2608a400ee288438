//! BinaryRelax as a training method: before every step the ternary model's weights are set
//! to their relaxation at that step, and after the epoch back to the exact projection for
//! evaluation and checkpoints.

use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::train::{Method, MethodSettings, Step, TrainConfig};
use serde::{Deserialize, Serialize};

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

    pub fn check(&self) -> Result<()> {
        if !(self.lambda0 > 0.0 && self.growth >= 1.0 && (0.0..=1.0).contains(&self.exact_fraction) && self.channel_sparsity >= 0.0) {
            return Err(AerError::Invalid(format!("BinaryRelax needs lambda0 > 0, growth >= 1, exact_fraction in [0, 1] and channel_sparsity >= 0; got {self:?}")));
        }
        Ok(())
    }
}

impl MethodSettings for RelaxConfig {
    const KEY: &'static str = "relax";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        RelaxConfig::check(self)
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for RelaxConfig {
    fn before_step(&mut self, _gpu: &Gpu, model: &Model, s: &Step) {
        if let Some(q) = &model.quant {
            q.set_relaxation(self.lambda_at(s.step, s.total, s.batches), self.channel_sparsity);
        }
    }

    fn finish_epoch(&mut self, _gpu: &Gpu, model: &Model) {
        // Evaluation and checkpoints see the exact ternary projection.
        if let Some(q) = &model.quant {
            q.set_relaxation(None, 0.0);
        }
    }
}
