//! Checkpoints: safetensors files in PyTorch's conventions (`fc1.weight` [out, in],
//! `conv1.weight` [out, in, kh, kw]) plus pruning masks (`mask.fc1.weight`, 1 keeps a weight),
//! the optimizer state (`optimizer.fc1.weight.exp_avg`)
//! and metadata (format version, model spec, epoch, seed, training config, history), so that
//! training resumes from any epoch. Written atomically: a temp file, then a rename.

use super::config::TrainConfig;
use crate::error::{AerError, Result};
use crate::nn::ModelSpec;
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

pub const FORMAT_VERSION: u32 = 1;
const FORMAT: &str = "aer-checkpoint";

/// One finished epoch, as reports show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_accuracy: f64,
    pub seconds: f64,
    /// Adversarial training's measurements, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robust: Option<RobustRecord>,
}

/// One adversarial-training epoch's robustness figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustRecord {
    /// The training attack's radius at the end of the epoch.
    pub eps: f32,
    /// Accuracy on the training attack's examples, over the examples attacked.
    pub train_robust_accuracy: f64,
    pub train_robust_by_class: Vec<f64>,
    /// Each class's share of adversarial examples this epoch.
    pub class_shares: Vec<f32>,
    /// PGD robust accuracy on the first `val_examples` validation images at full eps.
    pub val_robust_accuracy: f64,
}

#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub spec: ModelSpec,
    pub input: [usize; 3],
    pub classes: usize,
    /// Epochs completed.
    pub epoch: usize,
    pub config: TrainConfig,
    pub optimizer_step: u32,
    /// Model parameters and optimizer state, by name.
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    pub history: Vec<EpochRecord>,
}

impl Checkpoint {
    pub fn param_values(&self) -> HashMap<String, Vec<f32>> {
        self.tensors.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect()
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut meta = HashMap::new();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("format_version".into(), FORMAT_VERSION.to_string());
        meta.insert("model_spec".into(), self.spec.to_toml());
        meta.insert("input_shape".into(), serde_json::to_string(&self.input).unwrap());
        meta.insert("classes".into(), self.classes.to_string());
        meta.insert("epoch".into(), self.epoch.to_string());
        meta.insert("seed".into(), self.config.seed.to_string());
        meta.insert("train_config".into(), serde_json::to_string(&self.config).unwrap());
        meta.insert("optimizer_step".into(), self.optimizer_step.to_string());
        meta.insert("history".into(), serde_json::to_string(&self.history).unwrap());
        let views: Vec<(String, TensorView)> = self
            .tensors
            .iter()
            .map(|(k, (shape, v))| (k.clone(), TensorView::new(Dtype::F32, shape.clone(), bytemuck::cast_slice(v)).expect("consistent tensor")))
            .collect();
        safetensors::serialize(views, Some(meta)).map_err(|e| AerError::Invalid(format!("serialising checkpoint: {e}")))
    }

    /// Write atomically: a crash leaves either the old file or the new one, never half.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| AerError::checkpoint(path, format!("cannot read: {e}")))?;
        Self::from_bytes(&bytes).map_err(|reason| AerError::checkpoint(path, reason))
    }

    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format!("truncated, corrupt or not a safetensors file ({e})"))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| format!("corrupt or truncated safetensors data ({e})"))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |k: &str| meta.get(k).ok_or_else(|| format!("metadata field '{k}' is missing: not an aer checkpoint"));
        if get("format")? != FORMAT {
            return Err(format!("metadata 'format' is '{}', expected '{FORMAT}'", get("format")?));
        }
        let version: u32 = get("format_version")?.parse().map_err(|_| "format_version is not a number".to_string())?;
        if version != FORMAT_VERSION {
            return Err(format!("format version {version}, this build reads version {FORMAT_VERSION}"));
        }
        let num = |k: &str| -> std::result::Result<usize, String> { get(k)?.parse().map_err(|_| format!("metadata '{k}' is not a number")) };
        let spec = ModelSpec::from_toml(get("model_spec")?, "checkpoint model_spec").map_err(|e| e.to_string())?;
        let json = |k: &str| -> std::result::Result<serde_json::Value, String> { serde_json::from_str(get(k)?).map_err(|e| format!("metadata '{k}': {e}")) };
        let input: [usize; 3] = serde_json::from_value(json("input_shape")?).map_err(|e| format!("input_shape: {e}"))?;
        let config: TrainConfig = serde_json::from_value(json("train_config")?).map_err(|e| format!("train_config: {e}"))?;
        let history: Vec<EpochRecord> = serde_json::from_value(json("history")?).map_err(|e| format!("history: {e}"))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(format!("tensor '{name}' is {:?}, expected F32", view.dtype()));
            }
            let v: Vec<f32> = view.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
            tensors.insert(name, (view.shape().to_vec(), v));
        }
        Ok(Checkpoint {
            spec,
            input,
            classes: num("classes")?,
            epoch: num("epoch")?,
            config,
            optimizer_step: num("optimizer_step")? as u32,
            tensors,
            history,
        })
    }
}

/// Write `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| AerError::file(dir, format!("cannot create directory: {e}")))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| AerError::file(&tmp, format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| AerError::file(path, format!("cannot rename the finished temp file into place: {e}")))
}

impl Checkpoint {
    /// Copy a model and its optimizer back from the GPU into a checkpoint.
    pub async fn capture(
        gpu: &crate::gpu::Gpu,
        model: &crate::nn::Model,
        opt: &super::Optimizer,
        config: &TrainConfig,
        epoch: usize,
        history: &[EpochRecord],
    ) -> Result<Checkpoint> {
        let slots = super::Optimizer::slots(opt.config.kind);
        let mut names = Vec::new();
        let mut ts = Vec::new();
        for (p, state) in model.params.iter().zip(&opt.state) {
            names.push(p.name.clone());
            ts.push(&p.value);
            if let Some(m) = &p.mask {
                names.push(format!("mask.{}", p.name));
                ts.push(m);
            }
            for (slot, t) in slots.iter().zip(state) {
                names.push(format!("optimizer.{}.{slot}", p.name));
                ts.push(t);
            }
        }
        let bytes = gpu.read_bytes(&ts).await?;
        let tensors = names
            .into_iter()
            .zip(ts)
            .zip(bytes)
            .map(|((n, t), b)| (n, (t.shape().to_vec(), bytemuck::pod_collect_to_vec(&b))))
            .collect();
        Ok(Checkpoint {
            spec: model.spec.clone(),
            input: model.input,
            classes: model.classes,
            epoch,
            config: config.clone(),
            optimizer_step: opt.step,
            tensors,
            history: history.to_vec(),
        })
    }

    /// The model (and, when the checkpoint has its state, the optimizer) back on the GPU.
    pub fn restore(&self, gpu: &crate::gpu::Gpu) -> Result<(crate::nn::Model, super::Optimizer)> {
        let values = self.param_values();
        let mut model = crate::nn::Model::from_tensors(gpu, &self.spec, self.input, self.classes, &values)?;
        let masks: HashMap<String, Vec<f32>> = model.params.iter().filter_map(|p| values.get(&format!("mask.{}", p.name)).map(|m| (p.name.clone(), m.clone()))).collect();
        let mut opt = super::Optimizer::new(gpu, &self.config.optimizer, &model.params);
        opt.step = self.optimizer_step;
        let slots = super::Optimizer::slots(self.config.optimizer.kind);
        for (p, state) in model.params.iter().zip(&mut opt.state) {
            for (slot, t) in slots.iter().zip(state.iter_mut()) {
                if let Some(v) = values.get(&format!("optimizer.{}.{slot}", p.name)) {
                    *t = gpu.upload(v, p.value.shape());
                }
            }
        }
        crate::sparse::set_masks(gpu, &mut model, Some(&opt), &masks);
        Ok((model, opt))
    }

    /// Check that this checkpoint fits data of `input` shape with `classes` classes.
    pub fn check_data(&self, input: [usize; 3], classes: usize, origin: &Path) -> Result<()> {
        if self.input != input || self.classes != classes {
            return Err(AerError::checkpoint(
                origin,
                format!(
                    "made for inputs {:?} with {} classes, but the data has {:?} with {classes} classes",
                    self.input, self.classes, input
                ),
            ));
        }
        Ok(())
    }
}
