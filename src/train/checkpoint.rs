//! Checkpoints: safetensors files in PyTorch's conventions (`fc1.weight` [out, in],
//! `conv1.weight` [out, in, kh, kw]) plus pruning masks (`mask.fc1.weight`, 1 keeps a weight),
//! the optimizer state (`optimizer.fc1.weight.exp_avg`)
//! and metadata (format version, model spec, epoch, seed, training config, history), so that
//! training resumes from any epoch. Written atomically: a temp file, then a rename.
//!
//! A packed checkpoint (`aer quantize`) stores each ternary weight as `{weight}.ternary`
//! (U32 [out, ceil(in / 16)], the layout of `crate::kernels::packed`) with its scales
//! `{weight}.scale_pos` and `{weight}.scale_neg` (F32, one per layer or per output channel)
//! instead of its f32 values, and no optimizer state or masks; metadata `ternary_shapes` gives
//! each weight's [out, in] (in = in_channels * kh * kw for a convolution).

use crate::files::write_atomic;
use super::config::TrainConfig;
use crate::error::{AerError, Result};
use crate::gpu::Tensor;
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
    /// Certified training's measurements, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified: Option<CertifiedRecord>,
}

impl EpochRecord {
    /// The first of its figures that is not a finite number (JSON has none: NaN would be
    /// written as null and never read back), with its value.
    pub fn non_finite(&self) -> Option<(&'static str, f64)> {
        let mut figures = vec![("training loss", self.train_loss), ("training accuracy", self.train_accuracy), ("validation accuracy", self.val_accuracy), ("epoch time", self.seconds)];
        if let Some(r) = &self.robust {
            figures.extend([("adversarial training radius", r.eps as f64), ("robust training accuracy", r.train_robust_accuracy), ("robust validation accuracy", r.val_robust_accuracy)]);
            figures.extend(r.train_robust_by_class.iter().map(|&v| ("robust training accuracy of a class", v)));
            figures.extend(r.class_shares.iter().map(|&v| ("adversarial share of a class", v as f64)));
        }
        if let Some(c) = &self.certified {
            figures.extend([("certified training radius", c.eps as f64), ("certified training kappa", c.kappa as f64), ("bound loss", c.train_bound_loss), ("verified training accuracy", c.train_verified_accuracy), ("verified validation accuracy", c.val_verified_accuracy)]);
        }
        figures.into_iter().find(|(_, v)| !v.is_finite())
    }
}

/// One certified-training epoch's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertifiedRecord {
    /// The radius and the clean loss's weight at the end of the epoch.
    pub eps: f32,
    pub kappa: f32,
    /// Mean cross-entropy of the worst-case logits over the epoch.
    pub train_bound_loss: f64,
    /// Training examples verified at their step's radius (ties counted).
    pub train_verified_accuracy: f64,
    /// Validation accuracy verified at the full radius.
    pub val_verified_accuracy: f64,
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
    /// Packed ternary weights by weight name: ([out, in], words).
    pub packed: BTreeMap<String, ([usize; 2], Vec<u32>)>,
    pub history: Vec<EpochRecord>,
    /// The softmax temperature `aer calibrate` fitted on the validation split (logits are
    /// divided by it); None for an uncalibrated model. Finite and above zero.
    pub temperature: Option<f32>,
}

impl Checkpoint {
    pub fn param_values(&self) -> HashMap<String, Vec<f32>> {
        self.tensors.iter().map(|(k, (_, v))| (k.clone(), v.clone())).collect()
    }

    /// This checkpoint with its batch normalization folded for inference
    /// (`crate::nn::fold_batchnorm`): the same function in evaluation, fewer layers. Not for
    /// training on (the batchnorms are gone) nor for weight perturbations (the weights are
    /// scaled).
    pub fn folded(&self) -> Result<(Checkpoint, crate::nn::Folding)> {
        let mut values = self.param_values();
        let (spec, folding) = crate::nn::fold_batchnorm(&self.spec, self.input, self.classes, &mut values)?;
        let tensors = values
            .into_iter()
            .map(|(k, v)| {
                let shape = self.tensors.get(&k).map(|(s, _)| s.clone()).filter(|s| s.iter().product::<usize>() == v.len()).unwrap_or_else(|| vec![v.len()]);
                (k, (shape, v))
            })
            .collect();
        Ok((Checkpoint { spec, tensors, ..self.clone() }, folding))
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        if let Some((r, (what, v))) = self.history.iter().find_map(|r| r.non_finite().map(|f| (r, f))) {
            return Err(AerError::Invalid(format!("epoch {}'s {what} is {v}: a checkpoint holds finite numbers only", r.epoch)));
        }
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
        if let Some(t) = self.temperature {
            check_temperature(t)?;
            meta.insert("temperature".into(), t.to_string());
        }
        let mut views: Vec<(String, TensorView)> = self
            .tensors
            .iter()
            .map(|(k, (shape, v))| (k.clone(), TensorView::new(Dtype::F32, shape.clone(), bytemuck::cast_slice(v)).expect("consistent tensor")))
            .collect();
        if !self.packed.is_empty() {
            let shapes: BTreeMap<&String, [usize; 2]> = self.packed.iter().map(|(k, (s, _))| (k, *s)).collect();
            meta.insert("ternary_shapes".into(), serde_json::to_string(&shapes).unwrap());
            for (k, (s, words)) in &self.packed {
                let shape = vec![s[0], crate::kernels::packed::words_per_row(s[1])];
                views.push((format!("{k}.ternary"), TensorView::new(Dtype::U32, shape, bytemuck::cast_slice(words)).expect("consistent tensor")));
            }
        }
        views.sort_by(|a, b| a.0.cmp(&b.0));
        meta.insert(CHECKSUM.into(), format!("{:08x}", checksum(&meta, views.iter().map(|(k, v)| (k.as_str(), v.shape(), v.data())))));
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

    /// Read an aer checkpoint: its checksum must be there and match before anything in it is
    /// used. Foreign safetensors files come in through `aer import`, checkpoints written
    /// before checksums were mandatory through `aer resave` (`from_bytes_unchecked`).
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
        let (st, meta) = open_safetensors(bytes)?;
        match meta.get(CHECKSUM) {
            Some(want) => verify_checksum(&st, &meta, want)?,
            None => return Err(missing_checksum(&meta)),
        }
        Self::parse(&st, meta)
    }

    /// Read a checkpoint that has no checksum (written before checksums were mandatory), for
    /// `aer resave`: one with a checksum must still match it, and every metadata key must be
    /// one aer writes, so that a damaged key name (a `crc32` no longer spelt so) is refused
    /// rather than taken for a missing checksum.
    pub fn from_bytes_unchecked(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
        let (st, meta) = open_safetensors(bytes)?;
        if let Some(want) = meta.get(CHECKSUM) {
            verify_checksum(&st, &meta, want)?;
        } else if let Some(odd) = meta.keys().find(|k| !METADATA_KEYS.contains(&k.as_str())) {
            return Err(format!("metadata key '{odd}' is not one aer writes: the file is damaged or not an aer checkpoint; restore it from a copy"));
        }
        Self::parse(&st, meta)
    }

    /// The same checkpoint without optimizer state: enough to evaluate, attack or start a run
    /// from (`--init`), not to resume one (a resumed run would restart its optimizer).
    pub fn without_optimizer(&self) -> Checkpoint {
        let mut ck = self.clone();
        ck.tensors.retain(|k, _| !k.starts_with("optimizer."));
        ck.optimizer_step = 0;
        ck
    }

    fn parse(st: &SafeTensors, meta: HashMap<String, String>) -> std::result::Result<Checkpoint, String> {
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
        let mut packed = BTreeMap::new();
        let ternary_shapes: BTreeMap<String, [usize; 2]> = match meta.get("ternary_shapes") {
            Some(_) => serde_json::from_value(json("ternary_shapes")?).map_err(|e| format!("ternary_shapes: {e}"))?,
            None => BTreeMap::new(),
        };
        for (name, view) in st.tensors() {
            if let Some(weight) = name.strip_suffix(".ternary") {
                let shape = *ternary_shapes.get(weight).ok_or_else(|| format!("packed tensor '{name}' has no entry in metadata ternary_shapes"))?;
                if view.dtype() != Dtype::U32 || view.shape() != [shape[0], crate::kernels::packed::words_per_row(shape[1])] {
                    return Err(format!("packed tensor '{name}' is {:?} {:?}, expected U32 [{}, {}]", view.dtype(), view.shape(), shape[0], crate::kernels::packed::words_per_row(shape[1])));
                }
                let words: Vec<u32> = view.data().chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
                packed.insert(weight.to_string(), (shape, words));
                continue;
            }
            if view.dtype() != Dtype::F32 {
                return Err(format!("tensor '{name}' is {:?}, expected F32", view.dtype()));
            }
            let v: Vec<f32> = view.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
            tensors.insert(name, (view.shape().to_vec(), v));
        }
        check_companions(&tensors, &packed)?;
        let temperature = match meta.get("temperature") {
            Some(t) => Some(t.parse::<f32>().ok().filter(|t| check_temperature(*t).is_ok()).ok_or_else(|| format!("metadata 'temperature' is '{t}', not a finite number above zero: the file is damaged; calibrate the model again (aer calibrate)"))?),
            None => None,
        };
        Ok(Checkpoint {
            spec,
            input,
            classes: num("classes")?,
            epoch: num("epoch")?,
            config,
            optimizer_step: get("optimizer_step")?.parse().map_err(|_| "metadata 'optimizer_step' is not a step count".to_string())?,
            tensors,
            packed,
            history,
            temperature,
        })
    }
}

/// What `Checkpoint::stored_size` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredSize {
    /// Values of the weight tensors (packed ones included), and how many are not zero.
    pub weights: usize,
    pub nonzero: usize,
    /// Bytes of the weights as stored, and of everything else.
    pub weight_bytes: usize,
    pub other_bytes: usize,
}

impl StoredSize {
    pub fn bytes(&self) -> usize {
        self.weight_bytes + self.other_bytes
    }

    /// The same model with every weight a dense f32.
    pub fn f32_bytes(&self) -> usize {
        4 * self.weights + self.other_bytes
    }

    /// Share of the weights that are zero.
    pub fn sparsity(&self) -> f64 {
        1.0 - self.nonzero as f64 / self.weights.max(1) as f64
    }
}

/// Metadata field holding the CRC-32 of everything else in the file.
const CHECKSUM: &str = "crc32";

/// Every metadata key `to_bytes` writes.
const METADATA_KEYS: [&str; 13] = ["format", "format_version", "model_spec", "input_shape", "classes", "epoch", "seed", "train_config", "optimizer_step", "history", "ternary_shapes", "temperature", CHECKSUM];

/// A softmax temperature a checkpoint may hold: finite and above zero.
pub fn check_temperature(t: f32) -> Result<()> {
    if !(t.is_finite() && t > 0.0) {
        return Err(AerError::Invalid(format!("temperature {t}: a softmax temperature is a finite number above zero")));
    }
    Ok(())
}

/// The tensors and metadata of safetensors bytes, or why they are not safetensors.
fn open_safetensors(bytes: &[u8]) -> std::result::Result<(SafeTensors<'_>, HashMap<String, String>), String> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format!("truncated, corrupt or not a safetensors file ({e})"))?;
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("corrupt or truncated safetensors data ({e})"))?;
    let meta = header.metadata().clone().unwrap_or_default();
    Ok((st, meta))
}

/// A mismatch means the bytes changed after writing.
fn verify_checksum(st: &SafeTensors, meta: &HashMap<String, String>, want: &str) -> std::result::Result<(), String> {
    let mut tensors: Vec<_> = st.tensors();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    let got = format!("{:08x}", checksum(meta, tensors.iter().map(|(k, v)| (k.as_str(), v.shape(), v.data()))));
    if got != want {
        return Err(format!("checksum mismatch (stored {want}, contents give {got}): the file is corrupt; delete it (a pipeline then reruns its stage) or restore it from a copy"));
    }
    Ok(())
}

/// Why a file without a checksum is refused, by what it looks like.
fn missing_checksum(meta: &HashMap<String, String>) -> String {
    match meta.get("format").map(String::as_str) {
        Some("aer-weights") => "holds weights written by `aer export`, not a checkpoint: bring them in with `aer import --model <model> --weights <this file> --out <checkpoint>`".into(),
        _ if meta.keys().any(|k| METADATA_KEYS.contains(&k.as_str())) => format!(
            "has no checksum (metadata '{CHECKSUM}'): it was written by an aer from before checksums were mandatory, or its metadata is damaged; if you trust it, re-save it with `aer resave --checkpoint <this file>`"
        ),
        _ => "not an aer checkpoint (no aer metadata): weights trained elsewhere come in with `aer import --model <model> --weights <this file> --out <checkpoint>`".into(),
    }
}

/// Each mask and optimizer state has the shape of the parameter it belongs to, and each
/// packed weight its two scales: a tensor of another shape would fail later, on the GPU.
fn check_companions(tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>, packed: &BTreeMap<String, ([usize; 2], Vec<u32>)>) -> std::result::Result<(), String> {
    for (name, (shape, _)) in tensors {
        let owner = match name.strip_prefix("mask.") {
            Some(param) => param,
            None => match name.strip_prefix("optimizer.").and_then(|rest| rest.rsplit_once('.')) {
                Some((param, _slot)) => param,
                None => continue,
            },
        };
        let want = match (tensors.get(owner), packed.get(owner)) {
            (Some((s, _)), _) => s.clone(),
            (None, Some((s, _))) => s.to_vec(),
            (None, None) => return Err(format!("tensor '{name}' belongs to a parameter '{owner}' the checkpoint does not have")),
        };
        // A packed weight is [out, in]; its masks keep the layer's own shape.
        let fits = shape == &want || (packed.contains_key(owner) && shape.first() == want.first() && shape.iter().product::<usize>() == want.iter().product::<usize>());
        if !fits {
            return Err(format!("tensor '{name}' has shape {shape:?}, but its parameter '{owner}' has {want:?}; the file is damaged"));
        }
    }
    for name in packed.keys() {
        for side in ["scale_pos", "scale_neg"] {
            if !tensors.contains_key(&format!("{name}.{side}")) {
                return Err(format!("packed weight '{name}' has no tensor '{name}.{side}'"));
            }
        }
    }
    Ok(())
}

/// CRC-32 over the metadata (sorted, without the checksum itself) and the tensors in name
/// order: names, shapes and bytes.
fn checksum<'a>(meta: &HashMap<String, String>, tensors: impl Iterator<Item = (&'a str, &'a [usize], &'a [u8])>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    let mut keys: Vec<_> = meta.keys().filter(|k| k.as_str() != CHECKSUM).collect();
    keys.sort();
    for k in keys {
        for part in [k.as_bytes(), b"\0", meta[k].as_bytes(), b"\0"] {
            h.update(part);
        }
    }
    for (name, shape, data) in tensors {
        h.update(name.as_bytes());
        h.update(b"\0");
        for d in shape {
            h.update(&(*d as u64).to_le_bytes());
        }
        h.update(data);
    }
    h.finalize()
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
            packed: BTreeMap::new(),
            history: history.to_vec(),
            temperature: None,
        })
    }

    /// A packed checkpoint of a quantized model: ternary weights as 2-bit codes with their
    /// group scales, everything else f32; no optimizer state (inference and attacks only).
    pub async fn capture_packed(gpu: &crate::gpu::Gpu, model: &crate::nn::Model, config: &TrainConfig, epoch: usize, history: &[EpochRecord]) -> Result<Checkpoint> {
        let q = model.quant.as_ref().ok_or_else(|| AerError::Invalid(format!("model '{}' is not quantized: train it with --quant (or a [quant] table) first", model.spec.name)))?;
        let packed_gpu = q.pack(gpu, &model.params);
        // One readback: the parameters that stay f32, then each ternary weight's words and
        // group scales.
        let plain: Vec<_> = model.params.iter().enumerate().filter(|(i, _)| q.find(*i).is_none()).map(|(_, p)| p).collect();
        let mut parts: Vec<&Tensor> = plain.iter().map(|p| &p.value).collect();
        parts.extend(q.weights.iter().flat_map(|w| [&packed_gpu[&w.param].words, &w.scale_pos, &w.scale_neg]));
        let bytes = gpu.read_bytes(&parts).await?;
        let (plain_bytes, packed_bytes) = bytes.split_at(plain.len());
        let mut tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)> =
            plain.iter().zip(plain_bytes).map(|(p, b)| (p.name.clone(), (p.value.shape().to_vec(), bytemuck::pod_collect_to_vec(b)))).collect();
        let mut packed = BTreeMap::new();
        for (w, b) in q.weights.iter().zip(packed_bytes.chunks(3)) {
            let name = &model.params[w.param].name;
            let pk = &packed_gpu[&w.param];
            packed.insert(name.clone(), ([pk.n, pk.k], bytemuck::pod_collect_to_vec(&b[0])));
            // TTQ's scales are parameters of these names already; TWN's are derived.
            tensors.insert(format!("{name}.scale_pos"), (vec![w.groups.groups], bytemuck::pod_collect_to_vec(&b[1])));
            tensors.insert(format!("{name}.scale_neg"), (vec![w.groups.groups], bytemuck::pod_collect_to_vec(&b[2])));
        }
        Ok(Checkpoint { spec: model.spec.clone(), input: model.input, classes: model.classes, epoch, config: config.clone(), optimizer_step: 0, tensors, packed, history: history.to_vec(), temperature: None })
    }

    /// The bytes of the model's weights as stored: (f32 bytes of the ternary weights,
    /// their packed bytes with scales, bytes of everything else that is f32).
    pub fn weight_bytes(&self) -> (usize, usize, usize) {
        let mut f32_equiv = 0;
        let mut packed = 0;
        for (name, (s, words)) in &self.packed {
            f32_equiv += 4 * s[0] * s[1];
            packed += 4 * words.len();
            for side in ["scale_pos", "scale_neg"] {
                packed += self.tensors.get(&format!("{name}.{side}")).map_or(0, |t| 4 * t.1.len());
            }
        }
        let scale = |k: &String| k.ends_with(".scale_pos") || k.ends_with(".scale_neg");
        let other = self.tensors.iter().filter(|(k, _)| !scale(k) && !k.starts_with("optimizer.") && !k.starts_with("mask.")).map(|(_, t)| 4 * t.1.len()).sum();
        (f32_equiv, packed, other)
    }
    /// Which weights each prunable tensor keeps: its `mask.` tensor where it has one, else
    /// its non-zero values (packed ternary weights are left out).
    pub fn kept(&self) -> BTreeMap<String, Vec<bool>> {
        let weights = self.spec.weight_names();
        self.tensors
            .iter()
            .filter(|(k, _)| weights.contains(k))
            .map(|(k, (_, v))| {
                let kept = match self.tensors.get(&format!("mask.{k}")) {
                    Some((_, m)) => m.iter().map(|&x| x != 0.0).collect(),
                    None => v.iter().map(|&x| x != 0.0).collect(),
                };
                (k.clone(), kept)
            })
            .collect()
    }


    /// The model as stored for inference: dense f32 weights, pruned f32 weights as compressed
    /// rows (values, column indices, row offsets) where that is smaller, packed ternary codes
    /// with their scales, and everything else (biases) as f32.
    pub fn stored_size(&self) -> StoredSize {
        let mut s = StoredSize { weights: 0, nonzero: 0, weight_bytes: 0, other_bytes: 0 };
        let weights = self.spec.weight_names();
        let scale = |k: &str| k.ends_with(".scale_pos") || k.ends_with(".scale_neg");
        for (name, (shape, v)) in self.tensors.iter().filter(|(k, _)| !k.starts_with("optimizer.") && !k.starts_with("mask.")) {
            if scale(name) {
                s.weight_bytes += 4 * v.len();
            } else if weights.contains(name) {
                let nnz = v.iter().filter(|&&x| x != 0.0).count();
                s.weights += v.len();
                s.nonzero += nnz;
                s.weight_bytes += (4 * v.len()).min(8 * nnz + 4 * (shape[0] + 1));
            } else {
                s.other_bytes += 4 * v.len();
            }
        }
        for (shape, words) in self.packed.values() {
            let codes = crate::kernels::packed::unpack(words, shape[0], shape[1]).unwrap_or_default();
            s.weights += shape[0] * shape[1];
            s.nonzero += codes.iter().filter(|&&c| c != 0).count();
            s.weight_bytes += 4 * words.len();
        }
        s
    }

    /// The model (and, when the checkpoint has its state, the optimizer) back on the GPU.
    pub fn restore(&self, gpu: &crate::gpu::Gpu) -> Result<(crate::nn::Model, super::Optimizer)> {
        let mut values = self.param_values();
        // Packed weights: the latent values become the dequantized weights, and the model
        // computes with the packed codes.
        let mut unpacked = Vec::new();
        for (name, (s, words)) in &self.packed {
            let t = crate::kernels::packed::unpack(words, s[0], s[1]).map_err(|e| AerError::Invalid(format!("{name}: {e}")))?;
            let scale = |side: &str| -> Result<Vec<f32>> {
                let v = values.get(&format!("{name}.{side}")).ok_or_else(|| AerError::Invalid(format!("packed weight '{name}' has no tensor '{name}.{side}'")))?;
                if v.is_empty() || s[0] % v.len() != 0 {
                    return Err(AerError::Invalid(format!("'{name}.{side}' has {} scales for {} rows", v.len(), s[0])));
                }
                Ok((0..s[0]).map(|r| v[r / (s[0] / v.len())]).collect())
            };
            let (pos, neg) = (scale("scale_pos")?, scale("scale_neg")?);
            values.insert(name.clone(), crate::reference::ternary::dequantize(&t, &pos, &neg, s[0], s[1]));
            unpacked.push((name.clone(), s[0], s[1], words, pos, neg));
        }
        let shapes: HashMap<String, Vec<usize>> = self.tensors.iter().map(|(k, (s, _))| (k.clone(), s.clone())).collect();
        let mut model = crate::nn::Model::from_shaped_tensors(gpu, &self.spec, self.input, self.classes, &values, &shapes)?;
        if !unpacked.is_empty() {
            let mut packed = HashMap::new();
            for (name, n, k, words, pos, neg) in unpacked {
                let i = model.params.iter().position(|p| p.name == name).ok_or_else(|| AerError::Invalid(format!("packed weight '{name}' is not a parameter of model '{}'", self.spec.name)))?;
                let shape = model.params[i].value.shape();
                if [shape[0], shape[1..].iter().product()] != [n, k] {
                    return Err(AerError::Invalid(format!("packed weight '{name}' is [{n}, {k}], model '{}' expects {shape:?} (packed as [{}, {}])", self.spec.name, shape[0], shape[1..].iter().product::<usize>())));
                }
                packed.insert(i, crate::kernels::PackedTernary::upload(gpu, words, &pos, &neg, n, k));
            }
            model.set_packed(gpu, packed);
        }
        let masks: HashMap<String, Vec<f32>> = model.params.iter().filter_map(|p| values.get(&format!("mask.{}", p.name)).map(|m| (p.name.clone(), m.clone()))).collect();
        let mut opt = super::Optimizer::new(gpu, &self.config.optimizer, &model.params);
        opt.step = self.optimizer_step;
        let slots = super::Optimizer::slots(self.config.optimizer.kind);
        for (p, state) in model.params.iter().zip(&mut opt.state) {
            for (slot, t) in slots.iter().zip(state.iter_mut()) {
                if let Some(v) = values.get(&format!("optimizer.{}.{slot}", p.name)) {
                    if v.len() != t.numel() {
                        return Err(AerError::Invalid(format!("optimizer state 'optimizer.{}.{slot}' has {} values for a parameter of {}: the checkpoint is inconsistent; resave it with --weights-only to start without its optimizer state", p.name, v.len(), t.numel())));
                    }
                    // Into the state in place: packed state stays one buffer.
                    gpu.write(t, v);
                }
            }
        }
        super::set_masks(gpu, &mut model, Some(&opt), &masks);
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
