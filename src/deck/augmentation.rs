//! The augmentation a member trained with, read from its checkpoint's training config, and
//! applied again with the member's own settings to compute its spectral signature.

use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, Start};
use crate::methods::augment::Augment;
use crate::methods::augmix::Augmix;
use crate::methods::gaussian_noise::GaussianNoise;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

/// One member's training augmentation. A config with several (crops and AugMix) is named by
/// the one that changes the spectrum most: AugMix, then Gaussian noise, then crops and flips.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrainedAugmentation {
    /// Clean training: its signature is zero.
    None,
    Augment(Augment),
    GaussianNoise(GaussianNoise),
    Augmix(Augmix),
}

impl TrainedAugmentation {
    pub fn of(cfg: &TrainConfig) -> Result<TrainedAugmentation> {
        Ok(if let Some(a) = cfg.method::<Augmix>()? {
            TrainedAugmentation::Augmix(a)
        } else if let Some(g) = cfg.method::<GaussianNoise>()? {
            TrainedAugmentation::GaussianNoise(g)
        } else if let Some(a) = cfg.method::<Augment>()? {
            TrainedAugmentation::Augment(a)
        } else {
            TrainedAugmentation::None
        })
    }

    /// A short name for tables: none, augment, gaussian_noise, augmix.
    pub fn label(&self) -> &'static str {
        match self {
            TrainedAugmentation::None => "none",
            TrainedAugmentation::Augment(_) => "augment",
            TrainedAugmentation::GaussianNoise(_) => "gaussian_noise",
            TrainedAugmentation::Augmix(_) => "augmix",
        }
    }

    /// x [n, c, h, w] augmented as in training, draws from `seed` (a new tensor; the clean
    /// member's is a copy).
    pub fn apply(&self, gpu: &Gpu, x: &Tensor, shape: [usize; 4], seed: u32) -> Tensor {
        let n = shape[0];
        match self {
            TrainedAugmentation::None => gpu.duplicate(x),
            TrainedAugmentation::Augment(a) => {
                let out = gpu.empty(x.shape());
                kernels::augment(gpu, x, &out, shape, *a, seed);
                out
            }
            TrainedAugmentation::GaussianNoise(g) => {
                let out = gpu.empty(x.shape());
                let sigma = gpu.upload(&vec![g.sigma; n], &[n]);
                kernels::random_start(gpu, Start::Gaussian, &out, x, &sigma, seed, n, x.numel() / n.max(1));
                out
            }
            TrainedAugmentation::Augmix(a) => a.apply(gpu, x, shape, seed),
        }
    }
}
