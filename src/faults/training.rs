//! Corruption-resistant training (adversarial weight perturbation) as a training method (key
//! `weight_perturb`): every step's gradient is taken at weights moved against it, within
//! `rho` of each layer's norm.

use super::WeightPerturbation;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::train::{Method, MethodSettings, Restore, TrainConfig};
use serde::{Deserialize, Serialize};

/// Take every step's gradient at weights moved `rho` times each layer's norm along that
/// gradient (the worst first-order L2 corruption of that size), so training minimises the
/// corrupted loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightPerturbConfig {
    pub rho: f32,
}

impl MethodSettings for WeightPerturbConfig {
    const KEY: &'static str = "weight_perturb";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        if !(self.rho.is_finite() && self.rho >= 0.0) {
            return Err(AerError::Invalid(format!("weight_perturb rho {}: give the radius relative to each layer's norm, e.g. 0.01", self.rho)));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for WeightPerturbConfig {
    fn gradient_at(&mut self, gpu: &Gpu, model: &Model) -> Option<Restore> {
        let moved = WeightPerturbation::along_gradient(gpu, model, self.rho);
        Some(Box::new(move |gpu: &Gpu, model: &Model| moved.restore(gpu, model)))
    }
}
