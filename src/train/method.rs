//! Training methods as plug-ins. The training core (`fit`, `train_epoch`) knows no method: it
//! calls the hooks of the methods a config names, in the registry's order, at fixed points of
//! a run. A method is its settings (a table of the training config under the method's key,
//! `MethodSettings`) and what it does (`Method`); `crate::methods::REGISTRY` lists them.
//! docs/adding-a-method.md walks through adding one.

use super::checkpoint::EpochRecord;
use super::config::TrainConfig;
use super::epoch::EpochStats;
use super::fit::FitEvent;
use super::{Learner, Optimizer};
use crate::data::{Dataset, Splits};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::nn::Model;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// What an async hook returns.
pub type Hook<'a> = Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// A hook with nothing to do.
pub fn done<'a>() -> Hook<'a> {
    Box::pin(std::future::ready(Ok(())))
}

/// A method's settings: the training config's table under `KEY` (`[train.KEY]` in a file).
pub trait MethodSettings: Serialize + DeserializeOwned + 'static {
    const KEY: &'static str;
    /// Refuse settings that cannot run, or that clash with the rest of `cfg`, before anything
    /// trains.
    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        Ok(())
    }
    /// The method that runs these settings.
    fn method(&self, cfg: &TrainConfig) -> Box<dyn Method>;
    /// `cfg` with the settings this method's table leaves out that follow the data (of
    /// `input` shape) filled in, before `check` and the table's own defaults (adversarial
    /// training's radius and steps, from the attack module). `cfg` as it is when
    /// none follow the data.
    fn data_defaults(cfg: &TrainConfig, _input: [usize; 3]) -> TrainConfig {
        cfg.clone()
    }
}

/// The run around a run-level hook.
pub struct RunCtx<'a> {
    pub gpu: &'a Gpu,
    pub splits: &'a Splits,
    pub cfg: &'a TrainConfig,
    /// Builds the methods of a config: for a method that trains epochs of its own (a learned
    /// mask's) with the run's losses.
    pub registry: &'a Registry,
    pub on: &'a mut dyn FnMut(FitEvent),
}

impl RunCtx<'_> {
    pub fn note(&mut self, text: String) {
        (self.on)(FitEvent::Note(text));
    }
}

/// Where a training step is: batch `batch` of `batches` in epoch `epoch`, global step `step`
/// of `total`.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub epoch: usize,
    pub batch: usize,
    pub batches: usize,
    pub step: usize,
    pub total: usize,
    pub seed: u64,
}

/// An epoch as `train_epoch` starts it.
pub struct EpochStart<'a> {
    pub gpu: &'a Gpu,
    pub data: &'a Dataset,
    pub epoch: usize,
    pub batches: usize,
    pub classes: usize,
    pub seed: u64,
    /// The run's finished epochs (empty outside `fit`).
    pub history: &'a [EpochRecord],
}

/// One batch of a training step, and the epoch-long per-example outputs its loss writes.
pub struct BatchCtx<'a> {
    pub x: &'a Tensor,
    pub y: &'a Tensor,
    /// The batch's labels on the CPU.
    pub labels: &'a [u32],
    pub step: Step,
    /// Slot of the batch's first example in the epoch's outputs.
    pub offset: usize,
    /// f32 [n]: each example's loss; u32 [n]: 1 where it was classified correctly.
    pub loss: &'a Tensor,
    pub correct: &'a Tensor,
}

/// An epoch as `train_epoch` ends it: the examples' order and what the clean outputs read back.
pub struct EpochEnd<'a> {
    pub gpu: &'a Gpu,
    pub data: &'a Dataset,
    pub classes: usize,
    /// Example index of each slot.
    pub order: &'a [u32],
    /// 1 where the slot's training example was classified correctly.
    pub hits: &'a [u32],
}

/// Puts weights moved for a gradient back (`Method::gradient_at`).
pub type Restore = Box<dyn FnOnce(&Gpu, &Model)>;

/// What a training method does, hook by hook; each has a default that does nothing. Run-level
/// hooks are called by `fit`, epoch-level ones by `train_epoch` (and by anything else that
/// trains epochs, e.g. lottery rounds or a learned mask's epochs).
pub trait Method {
    /// (run) Its masks change while training, so pruned layers keep the dense kernels.
    fn changes_masks(&self) -> bool {
        false
    }

    /// (run) The model of a fresh run, before its first epoch: one-shot pruning, first masks.
    fn start<'a>(&'a mut self, _run: &'a mut RunCtx<'_>, _model: &'a mut Model, _opt: &'a Optimizer) -> Hook<'a> {
        done()
    }

    /// (run) Before the first epoch this process trains (fresh or resumed): refuse a model the
    /// method cannot train, pick up state from the model.
    fn ready(&mut self, _model: &Model) -> Result<()> {
        Ok(())
    }

    /// (run) Before epoch `epoch` (0-based).
    fn before_epoch(&mut self, _run: &mut RunCtx<'_>, _model: &mut Model, _opt: &Optimizer, _epoch: usize) {}

    /// (epoch) An epoch starts: per-example outputs, per-epoch draws.
    fn begin_epoch(&mut self, _e: &EpochStart) {}

    /// (epoch) A step's examples before they go to the GPU (pixels in [0, 1], NCHW, and
    /// labels): rows may be replaced by examples of the method's own, labels with them
    /// (watermark triggers). Evaluation and attacks never call it.
    fn batch_examples(&mut self, _x: &mut [f32], _y: &mut [u32], _s: &Step) {}

    /// (epoch) The input a training step trains on: a replacement for the batch's `x` (data
    /// augmentation), or None to keep it; labels stay. Evaluation and attacks never call it.
    fn batch_input(&mut self, _gpu: &Gpu, _x: &Tensor, _s: &Step) -> Option<Tensor> {
        None
    }

    /// (epoch) Before a step's forward pass.
    fn before_step(&mut self, _gpu: &Gpu, _model: &Model, _s: &Step) {}

    /// (epoch) Once per batch, before its gradients: what the method's loss needs of it.
    fn prepare_batch(&mut self, _gpu: &Gpu, _b: &BatchCtx) {}

    /// (epoch) Write every parameter's gradient of this method's loss on the batch, and the
    /// per-example outputs; false leaves the batch to the clean loss (or another method).
    fn batch_gradients(&mut self, _gpu: &Gpu, _model: &Model, _b: &BatchCtx) -> bool {
        false
    }

    /// (epoch) Take the step's gradient at other weights: move them and return how to put
    /// them back; the core computes the gradients again in between.
    fn gradient_at(&mut self, _gpu: &Gpu, _model: &Model) -> Option<Restore> {
        None
    }

    /// (epoch) After the gradients, before the update.
    fn after_gradients<'a>(&'a mut self, _gpu: &'a Gpu, _model: &'a Model, _opt: &'a dyn Learner, _s: Step) -> Hook<'a> {
        done()
    }

    /// (epoch) After the epoch's last update: leave the model in its test-time form.
    fn finish_epoch(&mut self, _gpu: &Gpu, _model: &Model) {}

    /// (epoch) The epoch's figures, after the clean outputs are read back.
    fn end_epoch<'a>(&'a mut self, _e: &'a EpochEnd<'a>, _stats: &'a mut EpochStats) -> Hook<'a> {
        done()
    }

    /// (run) The epoch's record, after validation: the method's own measurements.
    fn record<'a>(&'a mut self, _run: &'a RunCtx<'_>, _model: &'a Model, _stats: &'a EpochStats, _rec: &'a mut EpochRecord) -> Hook<'a> {
        done()
    }

    /// (run) Whether epoch `epoch` may be kept as the run's best.
    fn eligible(&self, _epoch: usize, _epochs: usize) -> bool {
        true
    }

    /// (run) After the epoch's record, before its checkpoint.
    fn after_epoch<'a>(&'a mut self, _run: &'a mut RunCtx<'_>, _model: &'a mut Model, _opt: &'a Optimizer, _epoch: usize) -> Hook<'a> {
        done()
    }
}

/// The methods of one run, in the registry's order.
pub type Methods = Vec<Box<dyn Method>>;

/// One method of the registry: its key and how its settings are read.
pub struct Entry {
    pub key: &'static str,
    build: fn(&serde_json::Value, &TrainConfig) -> Result<Box<dyn Method>>,
    canonical: fn(&serde_json::Value, &TrainConfig) -> Result<serde_json::Value>,
    data_defaults: fn(&TrainConfig, [usize; 3]) -> TrainConfig,
}

impl Entry {
    pub const fn of<T: MethodSettings>() -> Entry {
        Entry { key: T::KEY, build: build::<T>, canonical: canonical::<T>, data_defaults: T::data_defaults }
    }
}

pub(super) fn parse<T: MethodSettings>(v: &serde_json::Value) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| AerError::Invalid(format!("training method '{}': {e}", T::KEY)))
}

fn build<T: MethodSettings>(v: &serde_json::Value, cfg: &TrainConfig) -> Result<Box<dyn Method>> {
    Ok(parse::<T>(v)?.method(cfg))
}

fn canonical<T: MethodSettings>(v: &serde_json::Value, cfg: &TrainConfig) -> Result<serde_json::Value> {
    let t = parse::<T>(v)?;
    t.check(cfg)?;
    Ok(super::config::settings_value(&t))
}

/// Every training method there is, in the order their hooks run.
pub struct Registry(pub &'static [Entry]);

impl Registry {
    fn entry(&self, key: &str) -> Result<&Entry> {
        self.0.iter().find(|e| e.key == key).ok_or_else(|| {
            let known: Vec<&str> = self.0.iter().map(|e| e.key).collect();
            AerError::Invalid(format!("'{key}' is neither a training setting (epochs, batch_size, seed, optimizer, schedule, milestones, lr_factor) nor a training method ({})", known.join(", ")))
        })
    }

    /// `cfg` with its schedule checked and every method's settings read, checked and written
    /// out in full (defaults filled in): refuses unknown methods and bad settings before
    /// anything trains.
    pub fn check(&self, cfg: &TrainConfig) -> Result<TrainConfig> {
        cfg.check_schedule()?;
        let mut out = cfg.clone();
        for (key, v) in &cfg.methods {
            out.methods.insert(key.clone(), (self.entry(key)?.canonical)(v, cfg)?);
        }
        Ok(out)
    }

    /// `cfg` with every named method's settings that follow the data (of `input` shape)
    /// filled in where its table leaves them out (`MethodSettings::data_defaults`).
    pub fn data_defaults(&self, cfg: &TrainConfig, input: [usize; 3]) -> TrainConfig {
        self.0.iter().filter(|e| cfg.methods.contains_key(e.key)).fold(cfg.clone(), |c, e| (e.data_defaults)(&c, input))
    }

    /// The methods `cfg` names, in the registry's order.
    pub fn build(&self, cfg: &TrainConfig) -> Result<Methods> {
        for key in cfg.methods.keys() {
            self.entry(key)?;
        }
        self.0.iter().filter_map(|e| cfg.methods.get(e.key).map(|v| (e.build)(v, cfg))).collect()
    }
}
