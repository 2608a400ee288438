//! AugMix (Hendrycks et al., ICLR 2020): every training image replaced by a mixture of
//! `width` chains of 1 to 3 random operations, the chains mixed with Dirichlet(alpha) weights
//! and the mixture blended with the original by m ~ Beta(alpha, alpha) (m the original's
//! share). The operations are AugMix's own list without those that overlap the test
//! corruptions: autocontrast, equalize, posterize and solarize, and on colour images also
//! rotate, shear x/y and translate x/y; grey-scale images (MNIST) keep only the four tone
//! operations, as MNIST-C tests rotations, shears and translations. The Jensen-Shannon
//! consistency loss of the paper is left out: a batch trains on its mixtures with the plain
//! cross-entropy. Drawn per example from the run's seed and the step (operations on the GPU,
//! the Dirichlet and Beta weights on the CPU from the same PCG hash), so a resumed run trains
//! on the batches of an uninterrupted one. Key `augmix`:
//!
//! ```toml
//! [train.augmix]
//! width = 3      # chains
//! depth = 0      # operations per chain; 0: 1 to 3, drawn per chain
//! severity = 3   # operation levels drawn in [0.1, severity] on AugMix's 0-10 scale
//! alpha = 1      # Dirichlet and Beta concentration
//! ```

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AugmixChains, AUGMIX_MAX_DEPTH};
use crate::reference::augmix::mixing_weights;
use crate::reference::common::pcg;
use crate::train::{Method, MethodSettings, Step, TrainConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmix {
    /// Chains mixed per image.
    pub width: usize,
    /// Operations per chain, 1 to 3; 0 draws 1 to 3 per example and chain.
    pub depth: usize,
    /// Largest operation level on AugMix's 0-10 scale (levels drawn in [0.1, severity]).
    pub severity: f32,
    /// Concentration of the chains' Dirichlet weights and of the Beta blend.
    pub alpha: f32,
}

impl Default for Augmix {
    fn default() -> Self {
        Augmix { width: 3, depth: 0, severity: 3.0, alpha: 1.0 }
    }
}

impl Augmix {
    /// The chains on images of `channels` channels: geometric operations on colour only.
    pub fn chains(&self, channels: usize) -> AugmixChains {
        AugmixChains { width: self.width, depth: self.depth, severity: self.severity, geometric: channels > 1 }
    }

    /// AugMix of the batch x [n, c, h, w] under `seed` (a new tensor).
    pub fn apply(&self, gpu: &Gpu, x: &Tensor, shape: [usize; 4], seed: u32) -> Tensor {
        let weights = mixing_weights(seed, shape[0], self.width, self.alpha);
        let weights = gpu.upload(&weights, &[shape[0], self.width + 1]);
        let out = gpu.empty(x.shape());
        kernels::augmix(gpu, x, &out, &weights, shape, &self.chains(shape[1]), seed);
        out
    }
}

impl MethodSettings for Augmix {
    const KEY: &'static str = "augmix";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        if self.width == 0 || self.depth > AUGMIX_MAX_DEPTH {
            return Err(AerError::Invalid(format!(
                "augmix width {} depth {}: give at least one chain (3 is AugMix's) and a depth of 1 to {AUGMIX_MAX_DEPTH}, or 0 to draw it",
                self.width, self.depth
            )));
        }
        if !(self.severity >= 0.1 && self.severity <= 10.0) {
            return Err(AerError::Invalid(format!("augmix severity {}: give a level in [0.1, 10] on AugMix's scale (3 is its default)", self.severity)));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(AerError::Invalid(format!("augmix alpha {}: give a positive concentration (1 is AugMix's)", self.alpha)));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for Augmix {
    fn batch_input(&mut self, gpu: &Gpu, x: &Tensor, s: &Step) -> Option<Tensor> {
        let shape: [usize; 4] = x.shape().try_into().ok()?;
        // Its own stream of the (seed, step) draws, apart from the crops' and the noise's.
        let seed = pcg((s.seed ^ (s.seed >> 32)) as u32 ^ 0x5bd1_e995 ^ (s.step as u32).wrapping_mul(0x27d4_eb2f));
        Some(self.apply(gpu, x, shape, seed))
    }
}
