//! A model on the GPU: its layers and parameters with their gradients, built from a spec.
//! The forward pass is in `forward.rs`, the backward pass in `backward.rs`, what each layer
//! runs on in `plan.rs`, and counts over the model in `stats.rs`.

use super::init;
use super::plan::Plan;
use super::quant::Quantizer;
use super::spec::{LayerSpec, ModelSpec};
use super::tape::Tape;
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels as k;
use std::collections::HashMap;

/// A learnable tensor, named as PyTorch would (`fc1.weight`), and its gradient.
/// What a parameter is to its layer, which says who changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A linear or convolution weight: pruned, ternarized, faulted.
    Weight,
    /// Learned by the optimizer but never pruned: biases, batch normalization's scale and
    /// shift, quantization scales, pruning scores.
    Learned,
    /// Not the optimizer's: batch normalization's running statistics (they follow the
    /// batches) and activation thresholds (their own rule, in the backward pass).
    Tracked,
}

pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    pub value: Tensor,
    pub grad: Tensor,
    /// Pruning mask (1 keeps, 0 prunes), applied to the gradient in every backward pass; the
    /// pruned weights themselves are zeroed when the mask is set (see `crate::sparse`).
    pub mask: Option<Tensor>,
}

impl Param {
    pub fn prunable(&self) -> bool {
        self.kind == ParamKind::Weight
    }

    pub fn optimized(&self) -> bool {
        self.kind != ParamKind::Tracked
    }
}

/// How a new parameter starts.
#[derive(Clone, Copy, Debug)]
pub(super) enum Init {
    /// Kaiming-uniform (Glorot for the last layer) from the fans.
    Weight { fan_in: usize, fan_out: usize, last: bool },
    Constant(f32),
}

pub(super) enum Layer {
    Linear { w: usize, b: usize, inp: usize, out: usize },
    /// `b`: None without a bias.
    Conv2d { w: usize, b: Option<usize>, out: usize, kernel: usize, stride: usize, pad: usize },
    Relu,
    Maxpool2,
    Flatten,
    /// Winners-take-all: `keep` of the input's channels per example.
    Wta { keep: usize },
    /// A learned activation threshold: parameter `theta` ([1]), its target share of zeros and
    /// the weight of the activations' L1 penalty.
    Threshold { theta: usize, sparsity: f32, l1: f32 },
    /// y = x * scale[c] + shift[c], constants of the spec (`normalize`): affine = [scale | shift].
    ChannelAffine { affine: Tensor },
    /// Batch normalization: parameters gamma, beta and the running mean and variance.
    Batchnorm { gamma: usize, beta: usize, mean: usize, var: usize, momentum: f32, eps: f32 },
    Dropout { rate: f32 },
    GlobalAvgpool,
    /// Residual slots, by index (`LayerSpec::Save`, `Swap`, `Add`).
    Save(usize),
    Swap(usize),
    Add(usize),
}

pub struct Model {
    pub spec: ModelSpec,
    /// [C, H, W] of one example.
    pub input: [usize; 3],
    pub classes: usize,
    pub params: Vec<Param>,
    /// Leave gradients unmasked in the next backward passes (prune-and-regrow reads the
    /// dense gradient at inactive weights).
    pub dense_gradients: std::cell::Cell<bool>,
    /// Set while a training step runs, to that step's random seed: dropout drops (with masks
    /// drawn from it). Evaluation and attacks run with none (`Model::evaluating`).
    pub training: std::cell::Cell<Option<u32>>,
    /// Set for Monte Carlo dropout at inference, to the pass's random seed: dropout drops as
    /// in training, while batch normalisation keeps its running statistics.
    pub inference_dropout: std::cell::Cell<Option<u32>>,
    /// Ternary quantization-aware training (the spec's `[quant]`): the forward and backward
    /// passes use the dequantized weights, and gradients reach the latent weights through a
    /// straight-through estimator.
    pub quant: Option<Quantizer>,
    /// How each layer executes: packed, block-sparse, approximate or dense products and
    /// the kernel choices between them (`crate::nn::plan`).
    pub(super) plan: Plan,
    pub(super) layers: Vec<Layer>,
}

impl Layer {
    /// Whether the layer has parameters that training updates. Every variant is named, so a
    /// new layer must say: the backward pass computes no gradient below the first that learns.
    pub(super) fn learns(&self) -> bool {
        match self {
            Layer::Linear { .. } | Layer::Conv2d { .. } | Layer::Threshold { .. } | Layer::Batchnorm { .. } => true,
            Layer::Relu
            | Layer::Maxpool2
            | Layer::Flatten
            | Layer::Wta { .. }
            | Layer::ChannelAffine { .. }
            | Layer::Dropout { .. }
            | Layer::GlobalAvgpool
            | Layer::Save(_)
            | Layer::Swap(_)
            | Layer::Add(_) => false,
        }
    }

    /// The residual slot a save, swap or add layer uses.
    pub(super) fn slot(&self) -> Option<usize> {
        match self {
            Layer::Save(k) | Layer::Swap(k) | Layer::Add(k) => Some(*k),
            _ => None,
        }
    }
}

impl Model {
    /// A freshly initialised model (seeded).
    pub fn new(gpu: &Gpu, spec: &ModelSpec, input: [usize; 3], classes: usize, seed: u64) -> Result<Model> {
        Self::build(gpu, spec, input, classes, None, |name, shape, init| {
            let n = shape.iter().product();
            Ok(match init {
                Init::Constant(v) => vec![v; n],
                Init::Weight { fan_in, fan_out, last: true } => init::uniform(n, init::glorot_bound(fan_in, fan_out), seed, name),
                Init::Weight { fan_in, .. } => init::uniform(n, init::kaiming_bound(fan_in), seed, name),
            })
        })
    }

    /// A model whose parameters come from `tensors` (name -> values), checked for presence
    /// and size.
    pub fn from_tensors(gpu: &Gpu, spec: &ModelSpec, input: [usize; 3], classes: usize, tensors: &HashMap<String, Vec<f32>>) -> Result<Model> {
        Self::from_shaped_tensors(gpu, spec, input, classes, tensors, &HashMap::new())
    }

    /// As `from_tensors`, and each tensor with an entry in `shapes` (its shape as stored) must
    /// have exactly the parameter's shape: the right number of values in another layout, such
    /// as a weight stored [in, out], is refused, not read as a scrambled [out, in].
    pub fn from_shaped_tensors(gpu: &Gpu, spec: &ModelSpec, input: [usize; 3], classes: usize, tensors: &HashMap<String, Vec<f32>>, shapes: &HashMap<String, Vec<usize>>) -> Result<Model> {
        Self::build(gpu, spec, input, classes, Some(tensors), |name, shape, _| {
            if let Some(stored) = shapes.get(name).filter(|s| s.as_slice() != shape) {
                return Err(AerError::Invalid(crate::nn::interop::shape_mismatch(name, stored, name, shape)));
            }
            // Activation thresholds start at 0 (no activation cut) when the tensors come from a
            // model without them (`aer train --init` from a dense checkpoint).
            if name.ends_with(".threshold") && !tensors.contains_key(name) {
                return Ok(vec![0.0; shape.iter().product()]);
            }
            let v = tensors.get(name).ok_or_else(|| AerError::Invalid(format!("missing tensor '{name}' for model '{}'", spec.name)))?;
            if v.len() != shape.iter().product::<usize>() {
                return Err(AerError::Invalid(format!("tensor '{name}' has {} values, model '{}' expects shape {shape:?}", v.len(), spec.name)));
            }
            Ok(v.clone())
        })
    }

    pub(super) fn build(
        gpu: &Gpu,
        spec: &ModelSpec,
        input: [usize; 3],
        classes: usize,
        existing: Option<&HashMap<String, Vec<f32>>>,
        mut values: impl FnMut(&str, &[usize], Init) -> Result<Vec<f32>>,
    ) -> Result<Model> {
        let shapes = spec.shapes(input, classes)?;
        let last_param_layer = spec.layers.iter().rposition(|l| matches!(l, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. }));
        let mut params = Vec::new();
        let mut layers = Vec::new();
        let prefixes = spec.tensor_prefixes();
        let mut slot_names: Vec<String> = Vec::new();
        let mut slot = |name: &String| slot_names.iter().position(|n| n == name).unwrap_or_else(|| {
            slot_names.push(name.clone());
            slot_names.len() - 1
        });
        for (i, l) in spec.layers.iter().enumerate() {
            let (inp, out) = (&shapes[i], &shapes[i + 1]);
            let last = Some(i) == last_param_layer;
            let prefix = prefixes[i].as_deref().unwrap_or_default();
            let mut add = |what: &str, shape: Vec<usize>, kind: ParamKind, init: Init| -> Result<usize> {
                let name = format!("{prefix}.{what}");
                let v = values(&name, &shape, init)?;
                params.push(Param { value: gpu.upload(&v, &shape), grad: gpu.zeros(&shape), name, kind, mask: None });
                Ok(params.len() - 1)
            };
            let zero = Init::Constant(0.0);
            layers.push(match l {
                LayerSpec::Linear { .. } => {
                    let (fi, fo) = (inp[0], out[0]);
                    let w = add("weight", vec![fo, fi], ParamKind::Weight, Init::Weight { fan_in: fi, fan_out: fo, last })?;
                    let b = add("bias", vec![fo], ParamKind::Learned, zero)?;
                    Layer::Linear { w, b, inp: fi, out: fo }
                }
                LayerSpec::Conv2d { out: co, kernel, stride, padding, bias, .. } => {
                    let (fan_in, fan_out) = (inp[0] * kernel * kernel, co * kernel * kernel);
                    let w = add("weight", vec![*co, inp[0], *kernel, *kernel], ParamKind::Weight, Init::Weight { fan_in, fan_out, last })?;
                    let b = bias.then(|| add("bias", vec![*co], ParamKind::Learned, zero)).transpose()?;
                    Layer::Conv2d { w, b, out: *co, kernel: *kernel, stride: *stride, pad: *padding }
                }
                LayerSpec::Relu => Layer::Relu,
                LayerSpec::Maxpool2 => Layer::Maxpool2,
                LayerSpec::Flatten => Layer::Flatten,
                LayerSpec::Wta { sparsity } => Layer::Wta { keep: LayerSpec::wta_keep(*sparsity, inp[0]) },
                LayerSpec::Threshold { sparsity, l1 } => {
                    let theta = add("threshold", vec![1], ParamKind::Tracked, zero)?;
                    Layer::Threshold { theta, sparsity: *sparsity as f32, l1: *l1 as f32 }
                }
                LayerSpec::Normalize { mean, std } => {
                    let scale = std.iter().map(|s| (1.0 / s) as f32);
                    let shift = mean.iter().zip(std).map(|(m, s)| (-m / s) as f32);
                    let affine: Vec<f32> = scale.chain(shift).collect();
                    Layer::ChannelAffine { affine: gpu.upload(&affine, &[affine.len()]) }
                }
                LayerSpec::Dropout { rate } => Layer::Dropout { rate: *rate as f32 },
                LayerSpec::Batchnorm { momentum, eps, .. } => {
                    // PyTorch's start: scale 1, shift 0, running mean 0 and variance 1.
                    let c = inp[0];
                    let gamma = add("weight", vec![c], ParamKind::Learned, Init::Constant(1.0))?;
                    let beta = add("bias", vec![c], ParamKind::Learned, zero)?;
                    let mean = add("running_mean", vec![c], ParamKind::Tracked, zero)?;
                    let var = add("running_var", vec![c], ParamKind::Tracked, Init::Constant(1.0))?;
                    Layer::Batchnorm { gamma, beta, mean, var, momentum: *momentum as f32, eps: *eps as f32 }
                }
                LayerSpec::GlobalAvgpool => Layer::GlobalAvgpool,
                LayerSpec::Save { name } => Layer::Save(slot(name)),
                LayerSpec::Swap { name } => Layer::Swap(slot(name)),
                LayerSpec::Add { name } => Layer::Add(slot(name)),
            });
        }
        super::flat::pack(gpu, &mut params);
        let quant = spec.quant.as_ref().map(|q| Quantizer::attach(gpu, q, &mut params, existing)).transpose()?;
        Ok(Model { spec: spec.clone(), input, classes, params, dense_gradients: false.into(), training: None.into(), inference_dropout: None.into(), quant, plan: Plan::for_gpu(gpu), layers })
    }

    /// Run `f` in evaluation mode (no dropout), whatever mode the model is in: attacks that
    /// craft inputs during a training step see the model as evaluation does.
    pub fn evaluating<T>(&self, f: impl FnOnce() -> T) -> T {
        let mode = self.training.replace(None);
        let out = f();
        self.training.set(mode);
        out
    }

    /// Whether any layer is a dropout layer with a rate above zero (Monte Carlo dropout needs one).
    pub fn has_dropout(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, Layer::Dropout { rate } if *rate > 0.0))
    }

    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|p| p.value.numel()).sum()
    }

    /// Residual slots the layers use.
    pub(super) fn slots(&self) -> usize {
        self.layers.iter().filter_map(Layer::slot).max().map_or(0, |k| k + 1)
    }

    pub fn tape(&self) -> Tape {
        Tape { saved: Vec::with_capacity(self.layers.len()), inputs: None }
    }

    /// The parameters changed (an optimizer step, `set_values`): bring the block-sparse copies
    /// up to date.
    pub fn weights_changed(&self, gpu: &Gpu) {
        for (&i, bsr) in &self.plan.sparse {
            k::bsr_gather(gpu, &self.params[i].value, bsr);
        }
    }

    /// The weights a layer computes with: the dequantized ones under quantization, those
    /// unpacked from its packed words where a packed layer runs dense (`Plan::unpacked`).
    pub(super) fn weight(&self, i: usize) -> &Tensor {
        if let Some(w) = self.plan.unpacked.get(&i) {
            return w;
        }
        match self.quant.as_ref().and_then(|q| q.find(i)) {
            Some(q) => &q.wq,
            None => &self.params[i].value,
        }
    }

    /// Overwrite parameter values by name (e.g. rewinding to earlier weights); masks are
    /// applied again so pruned weights stay zero. Names not given are left alone.
    pub fn set_values(&self, gpu: &Gpu, values: &HashMap<String, Vec<f32>>) -> Result<()> {
        for p in &self.params {
            if let Some(v) = values.get(&p.name) {
                if v.len() != p.value.numel() {
                    return Err(AerError::Invalid(format!("tensor '{}' has {} values, the model expects {}", p.name, v.len(), p.value.numel())));
                }
                gpu.write(&p.value, v);
                if let Some(m) = &p.mask {
                    k::apply_mask(gpu, m, &p.value);
                }
            }
        }
        self.weights_changed(gpu);
        Ok(())
    }

    /// Parameters copied back to the CPU, by name.
    pub async fn download(&self, gpu: &Gpu) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>> {
        let ts: Vec<&Tensor> = self.params.iter().map(|p| &p.value).collect();
        let bytes = gpu.read_bytes(&ts).await?;
        Ok(self
            .params
            .iter()
            .zip(bytes)
            .map(|(p, b)| (p.name.clone(), p.value.shape().to_vec(), bytemuck::pod_collect_to_vec(&b)))
            .collect())
    }
}
