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
pub struct Param {
    pub name: String,
    pub value: Tensor,
    pub grad: Tensor,
    /// Pruning mask (1 keeps, 0 prunes), applied to the gradient in every backward pass; the
    /// pruned weights themselves are zeroed when the mask is set (see `crate::sparse`).
    pub mask: Option<Tensor>,
}

impl Param {
    /// Weights of linear and convolution layers can be pruned; biases and batch
    /// normalization's tensors cannot.
    pub fn prunable(&self) -> bool {
        prunable_name(&self.name)
    }

    /// Whether the optimizer updates it: activation thresholds learn by their own rule
    /// (`LayerSpec::Threshold`), in the backward pass, and batch normalization's running
    /// statistics follow the batches, in the forward pass.
    pub fn optimized(&self) -> bool {
        !is_threshold(&self.name) && !is_running_stat(&self.name)
    }
}

/// Whether a tensor of this name is a prunable weight (`Param::prunable`).
pub fn prunable_name(name: &str) -> bool {
    name.ends_with(".weight") && !is_norm(name)
}

/// A batch normalization layer's tensors (`bn<i>.weight`, `.bias`, `.running_mean`,
/// `.running_var`), by their PyTorch names.
pub(super) fn is_norm(name: &str) -> bool {
    name.rsplit('.').nth(1).is_some_and(|layer| layer.starts_with("bn"))
}

/// Statistics a batch normalization layer keeps, not learned by the optimizer.
fn is_running_stat(name: &str) -> bool {
    name.ends_with(".running_mean") || name.ends_with(".running_var")
}

/// A new batch normalization layer's values: gamma and the running variance 1, beta and the
/// running mean 0 (PyTorch's).
fn norm_init(name: &str) -> Option<f32> {
    is_norm(name).then(|| if name.ends_with(".weight") || name.ends_with(".running_var") { 1.0 } else { 0.0 })
}

/// Names a `LayerSpec::Threshold` layer's learned threshold (`act<i>.threshold`).
pub(super) fn is_threshold(name: &str) -> bool {
    name.ends_with(".threshold")
}

pub(super) enum Layer {
    Linear { w: usize, b: usize, inp: usize, out: usize },
    Conv2d { w: usize, b: usize, out: usize, kernel: usize, stride: usize, pad: usize },
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
        Self::build(gpu, spec, input, classes, None, |name, shape, fan_in, fan_out, last| {
            let n = shape.iter().product();
            Ok(if let Some(v) = norm_init(name) {
                vec![v; n]
            } else if name.ends_with(".bias") {
                vec![0.0; n]
            } else if last {
                init::uniform(n, init::glorot_bound(fan_in, fan_out), seed, name)
            } else {
                init::uniform(n, init::kaiming_bound(fan_in), seed, name)
            })
        })
    }

    /// A model whose parameters come from `tensors` (name -> values), checked for presence
    /// and size.
    pub fn from_tensors(gpu: &Gpu, spec: &ModelSpec, input: [usize; 3], classes: usize, tensors: &HashMap<String, Vec<f32>>) -> Result<Model> {
        Self::build(gpu, spec, input, classes, Some(tensors), |name, shape, _, _, _| {
            // Activation thresholds start at 0 (no activation cut) when the tensors come from a
            // model without them (`aer train --init` from a dense checkpoint).
            if is_threshold(name) && !tensors.contains_key(name) {
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
        mut values: impl FnMut(&str, &[usize], usize, usize, bool) -> Result<Vec<f32>>,
    ) -> Result<Model> {
        let shapes = spec.shapes(input, classes)?;
        let last_param_layer = spec.layers.iter().rposition(|l| matches!(l, LayerSpec::Linear { .. } | LayerSpec::Conv2d { .. }));
        let mut params = Vec::new();
        let mut layers = Vec::new();
        let (mut n_fc, mut n_conv, mut n_thr, mut n_bn) = (0, 0, 0, 0);
        let mut slot_names: Vec<String> = Vec::new();
        let mut slot = |name: &String| slot_names.iter().position(|n| n == name).unwrap_or_else(|| {
            slot_names.push(name.clone());
            slot_names.len() - 1
        });
        for (i, l) in spec.layers.iter().enumerate() {
            let (inp, out) = (&shapes[i], &shapes[i + 1]);
            let last = Some(i) == last_param_layer;
            let mut add = |name: String, shape: Vec<usize>, fan_in: usize, fan_out: usize| -> Result<usize> {
                let v = values(&name, &shape, fan_in, fan_out, last)?;
                params.push(Param { value: gpu.upload(&v, &shape), grad: gpu.zeros(&shape), name, mask: None });
                Ok(params.len() - 1)
            };
            layers.push(match l {
                LayerSpec::Linear { .. } => {
                    n_fc += 1;
                    let (fi, fo) = (inp[0], out[0]);
                    let w = add(format!("fc{n_fc}.weight"), vec![fo, fi], fi, fo)?;
                    let b = add(format!("fc{n_fc}.bias"), vec![fo], fi, fo)?;
                    Layer::Linear { w, b, inp: fi, out: fo }
                }
                LayerSpec::Conv2d { out: co, kernel, stride, padding } => {
                    n_conv += 1;
                    let fan_in = inp[0] * kernel * kernel;
                    let w = add(format!("conv{n_conv}.weight"), vec![*co, inp[0], *kernel, *kernel], fan_in, co * kernel * kernel)?;
                    let b = add(format!("conv{n_conv}.bias"), vec![*co], fan_in, co * kernel * kernel)?;
                    Layer::Conv2d { w, b, out: *co, kernel: *kernel, stride: *stride, pad: *padding }
                }
                LayerSpec::Relu => Layer::Relu,
                LayerSpec::Maxpool2 => Layer::Maxpool2,
                LayerSpec::Flatten => Layer::Flatten,
                LayerSpec::Wta { sparsity } => Layer::Wta { keep: LayerSpec::wta_keep(*sparsity, inp[0]) },
                LayerSpec::Threshold { sparsity, l1 } => {
                    n_thr += 1;
                    let theta = add(format!("act{n_thr}.threshold"), vec![1], 1, 1)?;
                    Layer::Threshold { theta, sparsity: *sparsity as f32, l1: *l1 as f32 }
                }
                LayerSpec::Normalize { mean, std } => {
                    let scale = std.iter().map(|s| (1.0 / s) as f32);
                    let shift = mean.iter().zip(std).map(|(m, s)| (-m / s) as f32);
                    let affine: Vec<f32> = scale.chain(shift).collect();
                    Layer::ChannelAffine { affine: gpu.upload(&affine, &[affine.len()]) }
                }
                LayerSpec::Dropout { rate } => Layer::Dropout { rate: *rate as f32 },
                LayerSpec::Batchnorm { momentum, eps } => {
                    n_bn += 1;
                    let c = inp[0];
                    let mut stat = |what: &str| add(format!("bn{n_bn}.{what}"), vec![c], c, c);
                    let (gamma, beta, mean, var) = (stat("weight")?, stat("bias")?, stat("running_mean")?, stat("running_var")?);
                    Layer::Batchnorm { gamma, beta, mean, var, momentum: *momentum as f32, eps: *eps as f32 }
                }
                LayerSpec::GlobalAvgpool => Layer::GlobalAvgpool,
                LayerSpec::Save { name } => Layer::Save(slot(name)),
                LayerSpec::Swap { name } => Layer::Swap(slot(name)),
                LayerSpec::Add { name } => Layer::Add(slot(name)),
            });
        }
        let quant = spec.quant.as_ref().map(|q| Quantizer::attach(gpu, q, &mut params, existing)).transpose()?;
        Ok(Model { spec: spec.clone(), input, classes, params, dense_gradients: false.into(), training: None.into(), quant, plan: Plan::default(), layers })
    }

    /// Run `f` in evaluation mode (no dropout), whatever mode the model is in: attacks that
    /// craft inputs during a training step see the model as evaluation does.
    pub fn evaluating<T>(&self, f: impl FnOnce() -> T) -> T {
        let mode = self.training.replace(None);
        let out = f();
        self.training.set(mode);
        out
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

    /// The weights a layer computes with: the dequantized ones under quantization.
    pub(super) fn weight(&self, i: usize) -> &Tensor {
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
