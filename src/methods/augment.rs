//! Data augmentation of the usual CIFAR recipes (torchvision's `RandomCrop(32, padding=4)` and
//! `RandomHorizontalFlip()`): each training image shifted by up to `crop` pixels each way with
//! zeros shifted in, and with `flip` mirrored left to right half the time. Drawn on the GPU per
//! example from the run's seed and the step, so a resumed run trains on exactly the batches of
//! an uninterrupted one. Only training batches are augmented: validation, test and attacks
//! read the images as they are. Key `augment`:
//!
//! ```toml
//! [train.augment]
//! crop = 4
//! flip = true
//! ```

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use crate::reference::common::pcg;
use crate::train::{Method, MethodSettings, Step, TrainConfig};

pub use crate::kernels::Augment;

impl MethodSettings for Augment {
    const KEY: &'static str = "augment";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        if self.crop == 0 && !self.flip {
            return Err(AerError::Invalid("[train.augment] turns nothing on: give crop (the padding in pixels, e.g. 4) or flip = true (--augment-crop, --augment-flip)".into()));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(*self)
    }
}

impl Method for Augment {
    fn ready(&mut self, model: &Model) -> Result<()> {
        let [_, h, w] = model.input;
        if self.crop >= h.min(w) {
            return Err(AerError::Invalid(format!(
                "augment crop {}: shifting {h}x{w} images by up to {} pixels can leave nothing of them; give a crop below {} (4 is usual for 32x32 images)",
                self.crop,
                self.crop,
                h.min(w)
            )));
        }
        Ok(())
    }

    fn batch_input(&mut self, gpu: &Gpu, x: &Tensor, s: &Step) -> Option<Tensor> {
        let shape: [usize; 4] = x.shape().try_into().ok()?;
        let out = gpu.empty(x.shape());
        // Its own stream of the (seed, step) draws, apart from dropout's and the noise's.
        let seed = pcg((s.seed ^ (s.seed >> 32)) as u32 ^ (s.step as u32).wrapping_mul(0xc2b2_ae35));
        kernels::augment(gpu, x, &out, shape, *self, seed);
        Some(out)
    }
}
