//! End-to-end inference and mask-selection entries: a forward pass of the cnn preset on a
//! batch with dense weights, with block-sparse weights on the BSR kernels, with packed
//! ternary weights, and with both (block-sparse ternary); of resnet20 with its batch normalization folded; and the exact top-k
//! selection that magnitude pruning runs.

use super::entries::{failed, injected, random, result, shaped_batch};
use super::{time_async, time_paired, EntryResult, Versus};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels;
use crate::nn::{LayerSpec, Model, ModelSpec};
use crate::nn::quant::{QuantSpec, TernaryMethod};
use crate::kernels::tune::Crossover;
use crate::sparse::{block_magnitude_prune, Scope};

/// How the weights of an inference entry are stored.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InferFormat {
    Dense,
    /// The hidden layers' `block` x `block` blocks pruned to `sparsity`, on the BSR kernels.
    Bsr { block: usize, sparsity: f64 },
    /// TWN ternary weights in every weight layer, packed 16 to a u32.
    Ternary,
    /// TWN ternary weights with the hidden layers' `block` x `block` blocks pruned to
    /// `sparsity`: the kept blocks as 2-bit codes on the block-sparse ternary kernel, the other
    /// layers packed.
    BsrTernary { block: usize, sparsity: f64 },
    /// Winners-take-all after every ReLU keeping `1 - sparsity` of the channels; with `skip`
    /// the next weight layer reads only the kept ones, without it every channel.
    Wta { sparsity: f64, skip: bool },
    /// Batch normalization folded into the preceding layers (`nn::fold_batchnorm`), timed
    /// against the same model evaluating its batchnorms (`dense`).
    Folded,
}

impl InferFormat {
    pub fn name(&self) -> String {
        match self {
            InferFormat::Dense => "dense".into(),
            InferFormat::Bsr { block, sparsity } => format!("bsr-b{block}-s{sparsity:.2}"),
            InferFormat::Ternary => "ternary".into(),
            InferFormat::BsrTernary { block, sparsity } => format!("bsr-ternary-b{block}-s{sparsity:.2}"),
            InferFormat::Wta { sparsity, skip } => Wta { sparsity: *sparsity, skip: *skip }.name(),
            InferFormat::Folded => "folded".into(),
        }
    }
}

/// Winners-take-all after every ReLU of a model, keeping `1 - sparsity` of the channels; with
/// `skip` the next weight layers read only the kept ones (`Model::use_channel_skip`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wta {
    pub sparsity: f64,
    pub skip: bool,
}

impl Wta {
    pub fn name(&self) -> String {
        format!("wta{:.0}-{}", 100.0 * self.sparsity, if self.skip { "skip" } else { "all-channels" })
    }

    /// `model` with these layers added, or as it is for `None`.
    pub fn model(wta: Option<Wta>, gpu: &Gpu, model: &str) -> Result<Model> {
        let spec = bench_spec(model)?;
        let spec = match wta {
            Some(w) => spec.with_wta(w.sparsity),
            None => spec,
        };
        let mut m = Model::new(gpu, &spec, bench_input(model), 10, 0)?;
        m.use_channel_skip(wta.is_some_and(|w| w.skip));
        Ok(m)
    }

    /// `model`, followed by this variant's name when there is one.
    pub fn label(wta: Option<Wta>, model: &str) -> String {
        match wta {
            Some(w) => format!("{model}-{}", w.name()),
            None => model.to_string(),
        }
    }
}

/// The input a benchmarked model takes: CIFAR's for the residual presets, MNIST's otherwise.
pub fn bench_input(model: &str) -> [usize; 3] {
    if ["resnet", "preact", "wrn"].iter().any(|p| model.starts_with(p)) {
        [3, 32, 32]
    } else {
        [1, 28, 28]
    }
}

/// A preset by name; `<preset>-plain` is the preset without batch normalization and without
/// its shortcuts (the same convolutions in a chain), to time what those cost; `<preset>-twn`
/// the preset with TWN ternary weights (quantization-aware training).
pub fn bench_spec(model: &str) -> Result<ModelSpec> {
    if let Some(base) = model.strip_suffix("-twn") {
        let spec = bench_spec(base)?;
        return Ok(ModelSpec { name: model.to_string(), quant: Some(QuantSpec::new(TernaryMethod::Twn)), ..spec });
    }
    let Some(base) = model.strip_suffix("-plain") else { return ModelSpec::load(model) };
    let spec = ModelSpec::load(base)?;
    let mut layers = Vec::new();
    // Between a swap and its add run the shortcut's layers: left out with them.
    let mut in_shortcut = false;
    for l in spec.layers {
        match l {
            LayerSpec::Swap { .. } => in_shortcut = true,
            LayerSpec::Add { .. } => in_shortcut = false,
            LayerSpec::Save { .. } | LayerSpec::Batchnorm { .. } => {}
            l if !in_shortcut => layers.push(l),
            _ => {}
        }
    }
    Ok(ModelSpec { name: model.to_string(), layers, quant: None })
}

pub fn infer_id(model: &str, format: InferFormat, batch: usize) -> String {
    format!("infer/{model}/{}/b{batch}", format.name())
}

/// The model's batch normalization away from its start (scales of both signs, running
/// statistics of their own), so that folding it is checked on more than the identity.
fn perturb_batchnorm(gpu: &Gpu, m: &Model) {
    for (i, p) in m.params.iter().filter(|p| p.name.contains("bn") || p.name.contains("shortcut.1")).enumerate() {
        let v: Vec<f32> = random(p.value.numel(), 100 + i as u64).iter().map(|&r| if p.name.ends_with(".running_var") { 1.0 + 0.5 * r } else { r }).collect();
        gpu.write(&p.value, &v);
    }
}

/// `m` with its batch normalization folded (`nn::fold_batchnorm`).
async fn folded(gpu: &Gpu, m: &Model) -> Result<Model> {
    let mut values = m.download(gpu).await?.into_iter().map(|(n, _, v)| (n, v)).collect();
    let (spec, _) = crate::nn::fold_batchnorm(&m.spec, m.input, m.classes, &mut values)?;
    Model::from_tensors(gpu, &spec, m.input, m.classes, &values)
}

/// `infer/{model}/{format}/b{batch}`: logits for a batch. Checked first against the same
/// model computed another way: the block-sparse model against its dense kernels, the packed
/// (and block-sparse) ternary model against its dequantized weights, the folded model against
/// its batchnorms.
pub async fn infer_entry(gpu: &Gpu, model: &str, format: InferFormat, batch: usize, runs: usize) -> Result<EntryResult> {
    let id = infer_id(model, format, batch);
    let mut spec = ModelSpec::load(model)?;
    match format {
        InferFormat::Ternary | InferFormat::BsrTernary { .. } => spec.quant = Some(QuantSpec::new(TernaryMethod::Twn)),
        InferFormat::Wta { sparsity, .. } => spec = spec.with_wta(sparsity),
        _ => {}
    }
    let input = bench_input(model);
    let mut m = Model::new(gpu, &spec, input, 10, 0)?;
    let (x, _) = shaped_batch(gpu, batch, input);
    match format {
        InferFormat::Bsr { block, sparsity } | InferFormat::BsrTernary { block, sparsity } => block_magnitude_prune(gpu, &mut m, None, sparsity, Scope::Layer, block, true),
        InferFormat::Wta { .. } => m.use_channel_skip(false),
        InferFormat::Folded => perturb_batchnorm(gpu, &m),
        InferFormat::Dense | InferFormat::Ternary => {}
    }
    let reference = gpu.read_f32(&m.forward(gpu, x.clone(), None)).await?;
    match format {
        InferFormat::Dense => {}
        InferFormat::Bsr { .. } => {
            if m.use_block_sparse(gpu, &Crossover::always()).await?.is_empty() {
                return Ok(failed(id, "no layer moved to the block-sparse kernels".into()));
            }
        }
        InferFormat::Ternary => m.use_packed(gpu)?,
        InferFormat::BsrTernary { .. } => {
            m.use_packed(gpu)?;
            if m.use_block_sparse(gpu, &Crossover::always()).await?.is_empty() {
                return Ok(failed(id, "no packed layer moved to the block-sparse ternary kernel".into()));
            }
        }
        InferFormat::Wta { skip, .. } => m.use_channel_skip(skip),
        InferFormat::Folded => {}
    }
    // The folded model is timed against the model it came from.
    let (m, with_batchnorm) = match format {
        InferFormat::Folded => (folded(gpu, &m).await?, Some(m)),
        _ => (m, None),
    };
    let got = gpu.read_f32(&m.forward(gpu, x.clone(), None)).await?;
    let scale = reference.iter().fold(1e-6f32, |a, v| a.max(v.abs()));
    if let Some(i) = (0..got.len()).find(|&i| injected() || !got[i].is_finite() || (got[i] - reference[i]).abs() > 1e-4 * scale) {
        return Ok(failed(id, format!("logit {i}: {} against {} computed another way", got[i], reference[i])));
    }
    // The block-sparse model is timed against the same pruned model on the dense kernels, the
    // channel-skipping one against every channel, run for run (a second copy of the model:
    // the same seed gives the same weights and pruning); the packed models against the dense
    // model they compress (unpruned, f32).
    let reference_format = match format {
        InferFormat::Bsr { .. } | InferFormat::Folded | InferFormat::Ternary | InferFormat::BsrTernary { .. } => Some(InferFormat::Dense),
        InferFormat::Wta { sparsity, skip: true } => Some(InferFormat::Wta { sparsity, skip: false }),
        _ => None,
    };
    let flops = 2.0 * batch as f64 * m.executed_weights_macs(batch) as f64;
    let mut r = match reference_format {
        None => result(id, time_async(gpu, 2, runs, || drop(m.forward(gpu, x.clone(), None))).await?, flops, 0.0),
        Some(ref_format) => {
            let other = match with_batchnorm {
                Some(other) => other,
                None if matches!(format, InferFormat::Ternary | InferFormat::BsrTernary { .. }) => Model::new(gpu, &ModelSpec::load(model)?, input, 10, 0)?,
                None => {
                    let mut other = Model::new(gpu, &spec, input, 10, 0)?;
                    match format {
                        InferFormat::Bsr { block, sparsity } => block_magnitude_prune(gpu, &mut other, None, sparsity, Scope::Layer, block, true),
                        _ => other.use_channel_skip(false),
                    }
                    other
                }
            };
            let (t, ref_t, speedup) = time_paired(gpu, 2, runs, || drop(m.forward(gpu, x.clone(), None)), || drop(other.forward(gpu, x.clone(), None))).await?;
            let mut r = result(id, t, flops, 0.0);
            r.versus = Some(Versus { reference: infer_id(model, ref_format, batch), reference_median_ms: ref_t.median_ms, speedup });
            r
        }
    };
    r.items_per_s = Some(batch as f64 / (r.median_ms / 1e3));
    Ok(r)
}

/// `select_topk/{n}`: the exact top-k selection (k = n / 10) of magnitude pruning over n
/// magnitude keys. Checked first: exactly k chosen, none smaller than one left out.
pub async fn select_entry(gpu: &Gpu, n: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("select_topk/{n}");
    let values = random(n, 15);
    let keys = gpu.empty_u32(&[n]);
    kernels::magnitude_keys(gpu, &gpu.upload(&values, &[n]), &keys);
    let mask = gpu.empty(&[n]);
    let k = n / 10;
    kernels::select_top_k(gpu, &keys, k, &mask);
    let got = gpu.read_f32(&mask).await?;
    let chosen = got.iter().filter(|&&v| v != 0.0).count();
    let min_kept = values.iter().zip(&got).filter(|(_, &m)| m != 0.0).fold(f32::INFINITY, |a, (v, _)| a.min(v.abs()));
    let max_left = values.iter().zip(&got).filter(|(_, &m)| m == 0.0).fold(0f32, |a, (v, _)| a.max(v.abs()));
    if injected() || chosen != k || min_kept < max_left {
        return Ok(failed(id, format!("chose {chosen} of k = {k}; smallest kept {min_kept}, largest left {max_left}")));
    }
    let t = time_async(gpu, 2, runs, || kernels::select_top_k(gpu, &keys, k, &mask)).await?;
    // At least: the keys read once, the mask written once.
    Ok(result(id, t, 0.0, 8.0 * n as f64))
}
