//! Embedding: the key's triggers trained in with the task data. In every training step the
//! last `share` of the batch (at least one example) is replaced by triggers with their key
//! labels, cycling through the `triggers` of the key in order, so every trigger is seen as
//! often as the others and a resumed run trains on exactly the batches of an uninterrupted
//! one. Key `watermark`:
//!
//! ```toml
//! [train.watermark]
//! key = "owner.key"   # 32 bytes, `aer watermark keygen`; the config keeps the path, never the key
//! triggers = 100
//! share = 0.1
//! ```

use super::key::WatermarkKey;
use super::triggers::triggers;
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::nn::Model;
use crate::train::{EpochStart, Method, MethodSettings, Step, TrainConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkConfig {
    /// The key file.
    pub key: PathBuf,
    /// Triggers derived from the key and trained in.
    #[serde(default = "default_triggers")]
    pub triggers: usize,
    /// Share of each training batch given to triggers.
    #[serde(default = "default_share")]
    pub share: f32,
}

pub const DEFAULT_TRIGGERS: usize = 100;
pub const DEFAULT_SHARE: f32 = 0.1;

fn default_triggers() -> usize {
    DEFAULT_TRIGGERS
}

fn default_share() -> f32 {
    DEFAULT_SHARE
}

impl WatermarkConfig {
    /// Triggers in a batch of `m` examples.
    pub fn per_batch(&self, m: usize) -> usize {
        ((self.share as f64 * m as f64).round() as usize).clamp(1, m.max(1))
    }
}

impl MethodSettings for WatermarkConfig {
    const KEY: &'static str = "watermark";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        if self.triggers == 0 {
            return Err(AerError::Invalid("watermark triggers 0: give how many triggers to train in, e.g. 100 (--triggers)".into()));
        }
        if !(self.share > 0.0 && self.share < 1.0) {
            return Err(AerError::Invalid(format!("watermark share {}: give the share of each batch that is triggers, above 0 and below 1, e.g. 0.1 (--share)", self.share)));
        }
        // A bad key file is refused before anything trains.
        WatermarkKey::load(&self.key).map(|_| ())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(Embed { cfg: self.clone(), set: None })
    }
}

struct Embed {
    cfg: WatermarkConfig,
    /// The triggers, made for the model in `ready`.
    set: Option<Dataset>,
}

impl Method for Embed {
    fn ready(&mut self, model: &Model) -> Result<()> {
        let key = WatermarkKey::load(&self.cfg.key)?;
        self.set = Some(triggers(&key, self.cfg.triggers, model.input, model.classes)?);
        Ok(())
    }

    /// Runs that train epochs without `ready` (lottery rounds) make the triggers here; the
    /// key file was read once already by `check`.
    fn begin_epoch(&mut self, e: &EpochStart) {
        if self.set.is_none() {
            self.set = WatermarkKey::load(&self.cfg.key).and_then(|key| triggers(&key, self.cfg.triggers, e.data.shape, e.classes)).ok();
        }
    }

    fn batch_examples(&mut self, x: &mut [f32], y: &mut [u32], s: &Step) {
        let Some(set) = &self.set else { return };
        let (m, d, n) = (y.len(), set.image_len(), set.len());
        let k = self.cfg.per_batch(m);
        for j in 0..k {
            let t = (s.step * k + j) % n;
            let row = m - k + j;
            for (dst, &src) in x[row * d..(row + 1) * d].iter_mut().zip(&set.images[t * d..(t + 1) * d]) {
                *dst = src as f32 / 255.0;
            }
            y[row] = set.labels[t] as u32;
        }
    }
}
