//! Gaussian data augmentation (Cohen et al., 2019; the training behind randomized smoothing):
//! every training image is replaced by a noisy copy, each pixel plus N(0, sigma^2) and clamped
//! to the image range [0, 1], so the model learns to classify under noise. A fresh draw per
//! step, the same in every rerun. Key `gaussian_noise`:
//!
//! ```toml
//! [train.gaussian_noise]
//! sigma = 0.25
//! ```

use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::kernels::{self, Start};
use crate::nn::Model;
use crate::train::{BatchCtx, Method, MethodSettings, TrainConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianNoise {
    /// Standard deviation of the noise, in units of the [0, 1] pixel range.
    pub sigma: f32,
}

impl MethodSettings for GaussianNoise {
    const KEY: &'static str = "gaussian_noise";

    fn check(&self, cfg: &TrainConfig) -> Result<()> {
        if !(self.sigma.is_finite() && self.sigma >= 0.0) {
            return Err(AerError::Invalid(format!("gaussian_noise sigma {}: give the noise's standard deviation in pixel units, e.g. 0.25", self.sigma)));
        }
        if cfg.has("adv") || cfg.has("certify") {
            return Err(AerError::Invalid("gaussian_noise is a loss of its own, like adv and certify; choose one".into()));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for GaussianNoise {
    fn batch_gradients(&mut self, gpu: &Gpu, model: &Model, b: &BatchCtx) -> bool {
        let m = b.labels.len();
        let noisy = gpu.empty(b.x.shape());
        let sigma = gpu.upload(&vec![self.sigma; m], &[m]);
        let seed = (b.step.seed as u32 ^ 0x6a09_e667) ^ (b.step.step as u32).wrapping_mul(0x9e37_79b9);
        // (The Gaussian start of the attacks: x0 + sigma * N(0, 1) per pixel, clamped.)
        kernels::random_start(gpu, Start::Gaussian, &noisy, b.x, &sigma, seed, m, b.x.numel() / m.max(1));
        let mut tape = model.tape();
        let logits = model.forward(gpu, noisy, Some(&mut tape));
        let dlogits = gpu.empty(logits.shape());
        kernels::softmax_xent(gpu, &logits, b.y, &dlogits, b.loss, b.correct, m, model.classes, b.offset);
        model.backward(gpu, tape, dlogits, false);
        true
    }
}
