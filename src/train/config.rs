//! Training settings, as the command line and pipeline files give them.

use super::method::MethodSettings;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
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
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
pub enum LrSchedule {
    Constant,
    /// Cosine decay from lr to 0 over the whole run, per step.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Cosine,
    /// lr multiplied by `lr_factor` at each of the epochs `milestones` (step decay, the usual
    /// CIFAR recipe: x0.1 at 50% and 75% of the epochs).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Piecewise,
}

/// The piecewise schedule's factor unless one is given.
pub const DEFAULT_LR_FACTOR: f32 = 0.1;

/// Everything a training run is set up with: the core settings, and the training methods
/// (`super::method`) by key with their settings, e.g. `adv` (adversarial training) or
/// `prune` (gradual magnitude pruning). In a file the methods are tables beside the core
/// settings (`[train.adv]`), and `crate::methods::REGISTRY` says which keys exist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub optimizer: OptimizerConfig,
    pub schedule: LrSchedule,
    /// Piecewise schedule: the numbers of finished epochs (increasing, from 1 to epochs - 1)
    /// after which the learning rate is multiplied by `lr_factor` once more.
    pub milestones: Vec<usize>,
    pub lr_factor: f32,
    /// Method key -> its settings (absent keys: the method is off).
    #[serde(flatten, deserialize_with = "present_methods")]
    pub methods: BTreeMap<String, serde_json::Value>,
}

/// Methods written as null (older checkpoints wrote every method, off ones as null) are off.
fn present_methods<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, serde_json::Value>, D::Error> {
    let mut m = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    m.retain(|_, v| !v.is_null());
    Ok(m)
}

/// A method's settings as the config keeps them: written as JSON text and read back, so an
/// f32 is kept as it prints (0.3, not 0.30000001192092896) and configs compare equal however
/// they were made.
pub(super) fn settings_value<T: Serialize>(t: &T) -> serde_json::Value {
    serde_json::from_str(&serde_json::to_string(t).expect("settings serialize")).expect("JSON reads back")
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 10, batch_size: 128, seed: 0, optimizer: OptimizerConfig::default(), schedule: LrSchedule::Cosine, milestones: Vec::new(), lr_factor: DEFAULT_LR_FACTOR, methods: BTreeMap::new() }
    }
}

impl TrainConfig {
    /// Method `T`'s settings, when the config turns it on; an error naming the method when
    /// its table does not read as `T` (a misspelt key must not turn the method off).
    pub fn method<T: MethodSettings>(&self) -> crate::Result<Option<T>> {
        self.methods.get(T::KEY).map(super::method::parse::<T>).transpose()
    }

    /// Whether the method with key `key` is on.
    pub fn has(&self, key: &str) -> bool {
        self.methods.contains_key(key)
    }

    /// Turn method `T` on with `settings` (replacing any it had).
    pub fn set<T: MethodSettings>(&mut self, settings: &T) {
        self.methods.insert(T::KEY.to_string(), settings_value(settings));
    }

    /// This config with method `T` on.
    pub fn with<T: MethodSettings>(mut self, settings: &T) -> Self {
        self.set(settings);
        self
    }

    /// Turn the method with key `key` off.
    pub fn remove(&mut self, key: &str) {
        self.methods.remove(key);
    }

    /// Learning rate at global step `step` of `total` (`epochs` epochs of equal length).
    pub fn lr_at(&self, step: usize, total: usize) -> f32 {
        match self.schedule {
            LrSchedule::Constant => self.optimizer.lr,
            LrSchedule::Cosine => {
                let t = step as f32 / total.max(1) as f32;
                self.optimizer.lr * 0.5 * (1.0 + (std::f32::consts::PI * t.min(1.0)).cos())
            }
            LrSchedule::Piecewise => {
                let epoch = step / (total / self.epochs.max(1)).max(1);
                let drops = self.milestones.iter().filter(|&&m| m <= epoch).count();
                self.optimizer.lr * self.lr_factor.powi(drops as i32)
            }
        }
    }

    /// Refuse a schedule that cannot run as written: milestones that are not increasing or
    /// fall outside the epochs, a factor that is not positive, or milestones and a factor
    /// given to a schedule that would ignore them.
    pub fn check_schedule(&self) -> crate::Result<()> {
        let bad = |text: String| Err(crate::AerError::Invalid(text));
        if self.schedule != LrSchedule::Piecewise {
            if !self.milestones.is_empty() || self.lr_factor != DEFAULT_LR_FACTOR {
                return bad(format!("milestones {:?} and lr_factor {} are for the piecewise schedule; give --schedule piecewise (schedule = \"piecewise\") or drop them", self.milestones, self.lr_factor));
            }
            return Ok(());
        }
        if self.milestones.is_empty() {
            return bad("the piecewise schedule needs milestones: the epochs at which the learning rate is multiplied by lr_factor, e.g. --milestones 100,150".into());
        }
        if self.milestones.windows(2).any(|p| p[0] >= p[1]) || self.milestones[0] == 0 || *self.milestones.last().unwrap() >= self.epochs {
            return bad(format!("milestones {:?}: give increasing epochs from 1 to {} (below the run's {} epochs), e.g. 50% and 75% of them", self.milestones, self.epochs.saturating_sub(1), self.epochs));
        }
        if !(self.lr_factor.is_finite() && self.lr_factor > 0.0) {
            return bad(format!("lr_factor {}: give the positive number the learning rate is multiplied by at each milestone, e.g. 0.1", self.lr_factor));
        }
        Ok(())
    }
}

