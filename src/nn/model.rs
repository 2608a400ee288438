//! A model on the GPU: parameters with their gradients, a forward pass that records on a tape
//! what the backward pass needs, and the backward pass itself.

use super::init;
use super::spec::{LayerSpec, ModelSpec};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use super::weights::{Weights, WeightsRef};
use crate::kernels::{self as k, ActivationLayout, Bsr, Conv2dGeometry, MatmulForm, PackedTernary};
use crate::quant::Quantizer;
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
    /// Weights can be pruned; biases cannot.
    pub fn prunable(&self) -> bool {
        self.name.ends_with(".weight")
    }

    /// Whether the optimizer updates it: activation thresholds learn by their own rule
    /// (`LayerSpec::Threshold`), in the backward pass.
    pub fn optimized(&self) -> bool {
        !is_threshold(&self.name)
    }
}

/// Names a `LayerSpec::Threshold` layer's learned threshold (`act<i>.threshold`).
fn is_threshold(name: &str) -> bool {
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
}

/// What one layer's forward pass keeps for its backward pass.
enum Saved {
    Input(Tensor),
    /// What a convolution's weight gradient reads, and its geometry.
    Conv(ConvInput, Conv2dGeometry),
    Output(Tensor),
    /// A max-pool's argmax, input shape and output.
    Pool(Tensor, Vec<usize>, Tensor),
    Shape(Vec<usize>),
    /// Winners-take-all's channel mask [n, c].
    Mask(Tensor, k::WtaShape),
    /// Nothing: a forward pass without a tape took a path with no backward (a linear layer's
    /// channel skipping).
    Nothing,
}

enum ConvInput {
    /// The im2col columns; `true` when they hold only the rows the layer's block-sparse
    /// weights read (`Bsr::active`).
    Cols(Tensor, bool),
    /// The input itself: the forward pass built no columns (`conv_direct`).
    Image(Tensor),
    /// The input, whose forward product read only the channels `list` (u32 [n, keep]) that
    /// winners-take-all kept (`skip_conv`).
    Kept { x: Tensor, cols: Tensor, list: Tensor, keep: usize },
}

/// Largest batch at which a linear layer skips the channels winners-take-all dropped. Each
/// example reads its own columns of the weights, so the gathered product has none of the dense
/// product's weight reuse across examples: on llvmpipe, cnn's fc1 (256 x 1568, half of 32
/// channels kept) took 0.75 ms against 2.5 ms dense for one example, 1.4 against 5.1 for 4,
/// but 5.3 against 2.5 for 16. A convolution reuses each weight over its output positions and
/// always skips (conv2, half of 16 channels: 1.1 against 1.3 ms for one example, 91 against
/// 186 for 256).
pub const SKIP_LINEAR_MAX_BATCH: usize = 8;

/// In quantization-aware training, linear layers with at least this many weights run their
/// forward product on weights packed before every forward pass, where the adapter runs the
/// wide ternary kernel (CPU adapters). Measured on lavapipe, packing plus the packed product
/// against the dense product of the dequantized weights, batch 128 (256): cnn's fc1 256 x 1568
/// 6.8 (14.5) against 10.4 (19.7) ms, 1024 x 1024 20.7 (38.3) against 23.9 (45.5); mlp's fc1
/// 300 x 784 7.8 (15.5) against 8.5 (14.5), and smaller layers faster dense. The input
/// gradient stays dense there, at half the ternary kernel's time.
pub const PACKED_TRAINING_MIN_WEIGHTS: usize = 300_000;

/// Learning rate of activation thresholds (`threshold_learn`): relative to the threshold plus
/// the mean activation, so a few dozen steps bring a threshold to its quantile.
const THRESHOLD_RATE: f32 = 0.2;

/// The channels the last winners-take-all layer kept, while they still index the activation's
/// channels (ReLU, max-pooling and flattening keep a dropped channel zero).
struct KeptChannels {
    /// u32 [n, keep], ascending per example.
    list: Tensor,
    keep: usize,
    /// Channels of the activation WTA selected in.
    channels: usize,
}

/// What a backward pass does with parameter gradients.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grads {
    /// Leave them alone (input gradients only).
    Skip,
    /// Write them, unmasked and before quantization's estimator.
    Raw,
    /// Write them and complete them (`Model::weight_grad_done`).
    Finished,
}

/// The record of one forward pass, consumed by `Model::backward`.
pub struct Tape {
    saved: Vec<Saved>,
    /// Every layer's input, when asked for (`Model::input_densities`).
    inputs: Option<Vec<Tensor>>,
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
    /// Ternary quantization-aware training (the spec's `[quant]`): the forward and backward
    /// passes use the dequantized weights, and gradients reach the latent weights through a
    /// straight-through estimator.
    pub quant: Option<Quantizer>,
    /// Packed ternary weights by parameter index: when present, the forward pass and the
    /// input gradient run on them (inference and attacks), and parameter gradients are not
    /// available.
    pub(super) packed: HashMap<usize, PackedTernary>,
    /// Block-sparse copies of pruned weights by parameter index (`use_block_sparse`): when
    /// present, the layer's products run on the BSR kernels, skipping pruned blocks.
    pub(super) sparse: HashMap<usize, Bsr>,
    /// An 8-bit multiplier's product table (`use_multiplier`): when present, the forward
    /// pass's weight products quantize both operands and multiply through it.
    approx: Option<Tensor>,
    /// The packed layers' forward products read and write half-precision activations
    /// (`use_f16_activations`).
    half_activations: bool,
    /// Weight layers after a winners-take-all layer read only the kept channels: convolutions
    /// forward and backward, linear layers in small passes without a tape (`use_channel_skip`).
    channel_skip: bool,
    /// Quantization-aware training runs large linear layers' forward products on packed
    /// weights (`use_packed_training`, `PACKED_TRAINING_MIN_WEIGHTS`).
    packed_training: bool,
    /// Convolutions with few weights run as direct convolutions (`use_direct_conv`).
    direct_conv: bool,
    pub(super) layers: Vec<Layer>,
}

/// A layer that `Model::use_block_sparse` moved to the block-sparse kernels.
#[derive(Clone, Debug)]
pub struct BlockSparseLayer {
    pub weight: String,
    pub block: usize,
    /// Share of blocks kept.
    pub density: f64,
}

impl Model {
    /// A freshly initialised model (seeded).
    pub fn new(gpu: &Gpu, spec: &ModelSpec, input: [usize; 3], classes: usize, seed: u64) -> Result<Model> {
        Self::build(gpu, spec, input, classes, None, |name, shape, fan_in, fan_out, last| {
            let n = shape.iter().product();
            Ok(if name.ends_with(".bias") {
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

    fn build(
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
        let (mut n_fc, mut n_conv, mut n_thr) = (0, 0, 0);
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
            });
        }
        let quant = spec.quant.as_ref().map(|q| Quantizer::attach(gpu, q, &mut params, existing)).transpose()?;
        Ok(Model { spec: spec.clone(), input, classes, params, dense_gradients: false.into(), quant, packed: HashMap::new(), sparse: HashMap::new(), approx: None, half_activations: false, channel_skip: true, packed_training: true, direct_conv: true, layers })
    }

    /// For each weight tensor, how many times one example uses each of its values (1 for a
    /// linear layer, output positions for a convolution): weights x uses = multiply-adds.
    pub fn weight_uses_per_example(&self) -> HashMap<String, usize> {
        let shapes = self.spec.shapes(self.input, self.classes).expect("the model was built from these shapes");
        let mut out = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            match l {
                Layer::Linear { w, .. } => {
                    out.insert(self.params[*w].name.clone(), 1);
                }
                Layer::Conv2d { w, .. } => {
                    out.insert(self.params[*w].name.clone(), shapes[i + 1][1] * shapes[i + 1][2]);
                }
                _ => {}
            }
        }
        out
    }

    /// The largest batch whose every activation (and a convolution's im2col columns) fits in
    /// one storage binding of `limit` bytes.
    pub fn max_batch(&self, limit: u64) -> usize {
        let shapes = self.spec.shapes(self.input, self.classes).expect("the model was built from these shapes");
        let per_example = self.layers.iter().enumerate().map(|(i, l)| {
            let out: usize = shapes[i + 1].iter().product();
            match l {
                Layer::Conv2d { kernel, .. } => out.max(shapes[i][0] * kernel * kernel * shapes[i + 1][1] * shapes[i + 1][2]),
                _ => out.max(shapes[i].iter().product()),
            }
        });
        (limit / (4 * per_example.max().unwrap_or(1).max(1) as u64)) as usize
    }

    pub fn num_parameters(&self) -> usize {
        self.params.iter().map(|p| p.value.numel()).sum()
    }

    /// Logits [N, classes] for x [N, C, H, W]. With a tape, everything the backward pass needs
    /// is kept on it.
    pub fn forward(&self, gpu: &Gpu, x: Tensor, mut tape: Option<&mut Tape>) -> Tensor {
        let n = x.shape()[0];
        let mut x = x;
        let mut packed_now = HashMap::new();
        if let (Some(q), true) = (&self.quant, self.packed.is_empty()) {
            q.refresh(gpu, &self.params);
            let packs = q.weights.iter().filter(|qw| self.trains_packed(gpu, qw.param));
            packed_now = packs.map(|qw| (qw.param, q.pack_weight(gpu, &self.params, qw))).collect();
        }
        let mut kept: Option<KeptChannels> = None;
        // Set by a convolution that applied the ReLU after it itself (conv_direct).
        let mut relu_done = false;
        for (i, layer) in self.layers.iter().enumerate() {
            if let Some(inputs) = tape.as_deref_mut().and_then(|t| t.inputs.as_mut()) {
                inputs.push(x.clone());
            }
            // A convolution that skips dropped channels has a backward pass that skips them too;
            // a linear layer skips them only in passes without one.
            let skip = match layer {
                Layer::Linear { w, .. } => kept.take().filter(|kc| tape.is_none() && self.skips_channels(*w, n, kc.keep, kc.channels)),
                Layer::Conv2d { w, .. } => kept.take().filter(|kc| self.skips_channels(*w, n, kc.keep, kc.channels)),
                _ => None,
            };
            let (y, saved) = match layer {
                Layer::Linear { w, b, inp, out } if skip.is_some() => {
                    let kc = skip.as_ref().expect("checked");
                    let y = gpu.empty(&[n, *out]);
                    let s = k::SkipShape { n, m: *out, k: *inp, g: inp / kc.channels, keep: kc.keep, p: 1 };
                    k::skip_linear(gpu, s, self.weight(*w), &x, &kc.list, &y);
                    k::bias_add(gpu, &y, &self.params[*b].value, n, *out, 1);
                    (y, Saved::Nothing)
                }
                Layer::Conv2d { w, b, out, kernel, stride, pad } if skip.is_some() => {
                    let kc = skip.as_ref().expect("checked");
                    let g = Self::geometry(&x, *kernel, *stride, *pad);
                    let taps = kernel * kernel;
                    let cols = gpu.empty(&[kc.keep * taps, g.positions()]);
                    k::im2col_kept(gpu, &g, &x, &kc.list, kc.keep, &cols);
                    let y = gpu.empty(&[n, *out, g.oh(), g.ow()]);
                    let hw = g.oh() * g.ow();
                    let shape = k::SkipShape { n, m: *out, k: g.patch(), g: taps, keep: kc.keep, p: hw };
                    k::skip_conv(gpu, shape, self.weight(*w), &cols, &kc.list, &y);
                    k::bias_add(gpu, &y, &self.params[*b].value, n, *out, hw);
                    (y, Saved::Conv(ConvInput::Kept { x, cols, list: kc.list.clone(), keep: kc.keep }, g))
                }
                Layer::Linear { w, b, inp, out } => {
                    let y = gpu.empty(&[n, *out]);
                    let weights = packed_now.get(w).map_or_else(|| self.forward_weights(*w), Weights::Packed);
                    weights.apply(gpu, &x, &y, n, *out, *inp, ActivationLayout::LINEAR);
                    k::bias_add(gpu, &y, &self.params[*b].value, n, *out, 1);
                    (y, Saved::Input(x))
                }
                Layer::Conv2d { w, b, out, kernel, stride, pad } if self.convolves_directly(*w, &Self::geometry(&x, *kernel, *stride, *pad), *out) => {
                    let g = Self::geometry(&x, *kernel, *stride, *pad);
                    let y = gpu.empty(&[n, *out, g.oh(), g.ow()]);
                    relu_done = matches!(self.layers.get(i + 1), Some(Layer::Relu));
                    k::conv_direct(gpu, &g, &x, self.weight(*w), &self.params[*b].value, &y, *out, relu_done);
                    (y, Saved::Conv(ConvInput::Image(x), g))
                }
                Layer::Conv2d { w, b, out, kernel, stride, pad } => {
                    let g = Self::geometry(&x, *kernel, *stride, *pad);
                    let y_cn = gpu.empty(&[*out, g.positions()]);
                    // Block-sparse weights that leave whole patch rows unread need only the
                    // others built (unless a dense weight gradient, which reads them all, is asked for).
                    let active = self.sparse.get(w).filter(|b| b.active.count < b.block_cols() && !self.dense_gradients.get() && self.approx.is_none());
                    let cols = match active {
                        Some(bsr) => {
                            let rows = bsr.active.count * bsr.block;
                            // (A layer with no block left reads no row at all.)
                            let cols = gpu.empty(&[rows.max(1), g.positions()]);
                            k::im2col_rows(gpu, &g, &x, &bsr.active.rows, rows, &cols);
                            k::bsr_conv_forward(gpu, &cols, bsr, &y_cn, g.positions());
                            cols
                        }
                        None => {
                            let cols = gpu.empty(&[g.patch(), g.positions()]);
                            k::im2col(gpu, &g, &x, &cols);
                            self.forward_weights(*w).apply(gpu, &cols, &y_cn, g.positions(), *out, g.patch(), ActivationLayout::CONV);
                            cols
                        }
                    };
                    let y = gpu.empty(&[n, *out, g.oh(), g.ow()]);
                    let hw = g.oh() * g.ow();
                    k::cnhw_to_nchw(gpu, &y_cn, &y, n, *out, hw);
                    k::bias_add(gpu, &y, &self.params[*b].value, n, *out, hw);
                    (y, Saved::Conv(ConvInput::Cols(cols, active.is_some()), g))
                }
                Layer::Relu if std::mem::take(&mut relu_done) => (x.clone(), Saved::Output(x.clone())),
                Layer::Relu => {
                    let y = gpu.empty(x.shape());
                    k::relu_forward(gpu, &x, &y);
                    (y.clone(), Saved::Output(y))
                }
                Layer::Maxpool2 => {
                    let s = x.shape().to_vec();
                    let out_shape = [s[0], s[1], s[2] / 2, s[3] / 2];
                    let y = gpu.empty(&out_shape);
                    let arg = gpu.empty_u32(&out_shape);
                    k::maxpool2_forward(gpu, &x, &y, &arg, s[0] * s[1], s[2], s[3]);
                    (y.clone(), Saved::Pool(arg, s, y))
                }
                Layer::Flatten => {
                    let s = x.shape().to_vec();
                    let flat = s[1..].iter().product();
                    (x.reshape(&[n, flat]), Saved::Shape(s))
                }
                Layer::Wta { keep } => {
                    let s = x.shape();
                    let shape = k::WtaShape { n, c: s[1], hw: s[2..].iter().product(), keep: *keep };
                    let mask = gpu.empty(&[n, shape.c]);
                    let list = gpu.empty_u32(&[n, *keep]);
                    k::wta_select(gpu, shape, &x, &mask, &list);
                    let y = gpu.empty(s);
                    k::wta_apply(gpu, shape, &x, &mask, &y);
                    kept = Some(KeptChannels { list, keep: *keep, channels: shape.c });
                    (y, Saved::Mask(mask, shape))
                }
                Layer::Threshold { theta, .. } => {
                    let y = gpu.empty(x.shape());
                    k::threshold_forward(gpu, &x, &self.params[*theta].value, &y);
                    (y.clone(), Saved::Output(y))
                }
            };
            if let Some(t) = tape.as_deref_mut() {
                t.saved.push(saved);
            }
            x = y;
        }
        x
    }

    /// A square convolution's geometry over the batch x [n, c, h, w].
    pub(super) fn geometry(x: &Tensor, kernel: usize, stride: usize, pad: usize) -> Conv2dGeometry {
        let s = x.shape();
        Conv2dGeometry { n: s[0], c: s[1], h: s[2], w: s[3], kh: kernel, kw: kernel, stride, pad }
    }

    /// Whether convolution weight `w` (`out` channels over `g`) runs as a direct convolution
    /// rather than im2col and a product: dense (or dequantized) weights few enough for
    /// `conv_direct`, an image model's first layer. On llvmpipe that takes cnn's conv1 (16 x
    /// 25 over 128 28x28 images) from about 100 ms of im2col, product, permute, bias and ReLU
    /// passes to 43-55 ms in one pass.
    fn convolves_directly(&self, w: usize, g: &Conv2dGeometry, out: usize) -> bool {
        self.direct_conv && matches!(self.forward_weights(w), Weights::Dense(_)) && k::takes_direct(g, out)
    }

    /// Whether weight `w`'s forward product reads only the channels a winners-take-all layer
    /// kept (`keep` of `channels`) in a pass over `batch` examples: with channel skipping on, on
    /// dense (or dequantized) weights, a linear layer only up to `SKIP_LINEAR_MAX_BATCH`
    /// examples (beyond, the dense product is faster) and without a tape, and within
    /// llvmpipe's limit on one invocation's loop iterations (keep * inputs per channel).
    fn skips_channels(&self, w: usize, batch: usize, keep: usize, channels: usize) -> bool {
        let shape = self.params[w].value.shape();
        let linear = shape.len() == 2;
        let per_channel = crate::sparse::matrix_shape(shape).1 / channels;
        self.channel_skip
            && matches!(self.forward_weights(w), Weights::Dense(_))
            && (!linear || batch <= SKIP_LINEAR_MAX_BATCH)
            && keep * per_channel < 65_000
    }

    /// Whether quantized weight `w`'s forward product runs on a packed copy made before each
    /// forward pass (see `PACKED_TRAINING_MIN_WEIGHTS`): a linear layer that large, on an
    /// adapter with the wide ternary kernel, with exactly ternary weights (neither BinaryRelax's
    /// relaxation nor HQ's sphere phase) and no other kernel in its place.
    fn trains_packed(&self, gpu: &Gpu, w: usize) -> bool {
        let shape = self.params[w].value.shape();
        self.packed_training
            && self.quant.as_ref().is_some_and(|q| q.exact() && q.find(w).is_some())
            && self.packed.is_empty()
            && self.approx.is_none()
            && !self.sparse.contains_key(&w)
            && shape.len() == 2
            && shape[0] * shape[1] >= PACKED_TRAINING_MIN_WEIGHTS
            && k::TernaryVariant::for_gpu(gpu) == k::TernaryVariant::Wide
    }

    /// The quantized weights whose forward products run packed in training on this adapter.
    pub fn packed_in_training(&self, gpu: &Gpu) -> Vec<String> {
        self.layers.iter().filter_map(|l| match l {
            Layer::Linear { w, .. } if self.trains_packed(gpu, *w) => Some(self.params[*w].name.clone()),
            _ => None,
        }).collect()
    }

    /// Let quantization-aware training run large linear layers on packed weights (the
    /// default), or every layer on the dequantized weights.
    pub fn use_packed_training(&mut self, on: bool) {
        self.packed_training = on;
    }

    /// Let weight layers after a winners-take-all layer read only its kept channels (the
    /// default), or compute with every channel again (the dense product of the zeroed ones).
    pub fn use_channel_skip(&mut self, on: bool) {
        self.channel_skip = on;
    }

    /// Let convolutions with few weights run as direct convolutions (the default), or every
    /// convolution through im2col and a product.
    pub fn use_direct_conv(&mut self, on: bool) {
        self.direct_conv = on;
    }

    pub fn tape(&self) -> Tape {
        Tape { saved: Vec::with_capacity(self.layers.len()), inputs: None }
    }

    /// Backpropagate `dy` (the gradient of the loss with respect to the logits) through the
    /// tape: writes every parameter's gradient and, when asked, returns the gradient with
    /// respect to the input batch (what attacks need).
    pub fn backward(&self, gpu: &Gpu, tape: Tape, dy: Tensor, input_grad: bool) -> Option<Tensor> {
        self.backprop(gpu, tape, dy, Grads::Finished, input_grad)
    }

    /// `backward` for the first term of a loss with several: the weight gradients are left
    /// raw (unmasked, before quantization's estimator) for the other terms to add to (e.g.
    /// `bounds_backward`); `finish_gradients` then completes them.
    pub fn backward_raw(&self, gpu: &Gpu, tape: Tape, dy: Tensor) {
        self.backprop(gpu, tape, dy, Grads::Raw, false);
    }

    /// Mask every raw weight gradient and carry it to the latent weights (see `backward_raw`).
    pub fn finish_gradients(&self, gpu: &Gpu) {
        for (i, p) in self.params.iter().enumerate() {
            if p.prunable() {
                self.weight_grad_done(gpu, i);
            }
        }
    }

    /// The gradient with respect to the input batch only, leaving parameter gradients
    /// untouched: what an attack needs, at two thirds of the matmul work of `backward`.
    pub fn input_gradient(&self, gpu: &Gpu, tape: Tape, dy: Tensor) -> Tensor {
        self.backprop(gpu, tape, dy, Grads::Skip, true).expect("asked for the input gradient")
    }

    fn backprop(&self, gpu: &Gpu, tape: Tape, dy: Tensor, grads: Grads, input_grad: bool) -> Option<Tensor> {
        let param_grads = grads != Grads::Skip;
        assert!(
            !param_grads || self.packed.is_empty(),
            "a packed ternary model has no parameter gradients: train the latent weights (a checkpoint with [quant]) instead"
        );
        let mut dy = dy;
        let n = dy.shape()[0];
        // Set by a max-pool that did the backward pass of the ReLU before it.
        let mut relu_done = false;
        for (i, (layer, saved)) in self.layers.iter().zip(tape.saved).enumerate().rev() {
            let need_dx = i > 0 || input_grad;
            dy = match (layer, saved) {
                (Layer::Linear { w, b, inp, out }, Saved::Input(x)) => {
                    if param_grads {
                        match self.sparse_grad(*w) {
                            Some(bsr) => k::bsr_weight_grad(gpu, &dy, &x, bsr, &self.params[*w].grad, n, ActivationLayout::LINEAR),
                            None => k::matmul(gpu, MatmulForm::TN, &dy, &x, &self.params[*w].grad, *out, *inp, n, false),
                        }
                        k::bias_grad(gpu, &dy, &self.params[*b].grad, n, *out, 1);
                        if grads == Grads::Finished {
                            self.weight_grad_done(gpu, *w);
                        }
                    }
                    if !need_dx {
                        return None;
                    }
                    let dx = gpu.empty(&[n, *inp]);
                    self.weights(*w).apply_t(gpu, &dy, &dx, n, *out, *inp, ActivationLayout::LINEAR);
                    dx
                }
                (Layer::Conv2d { w, b, out, .. }, Saved::Conv(input, g)) => {
                    let hw = g.oh() * g.ow();
                    // dy as [co, n*oh*ow] for the products, permuted once if at all.
                    let dy_cn = std::cell::OnceCell::new();
                    let to_cn = || {
                        dy_cn.get_or_init(|| {
                            let t = gpu.empty(&[*out, g.positions()]);
                            k::nchw_to_cnhw(gpu, &dy, &t, n, *out, hw);
                            t
                        })
                    };
                    // Restricted columns were built only for a block-sparse layer.
                    let active = self.sparse.get(w).filter(|_| matches!(input, ConvInput::Cols(_, true)));
                    // After winners-take-all: the products over the kept channels only.
                    let kept_shape = |keep: usize| k::SkipShape { n, m: *out, k: g.patch(), g: g.kh * g.kw, keep, p: hw };
                    if param_grads {
                        let grad = &self.params[*w].grad;
                        let sparse = self.sparse_grad(*w);
                        match &input {
                            // Straight from the image, as the forward pass was (conv_direct).
                            ConvInput::Image(x) if active.is_none() && sparse.is_none() && k::takes_direct_weight_grad(&g, *out) => {
                                k::conv_direct_weight_grad(gpu, &g, x, &dy, grad, &self.params[*b].grad, *out);
                            }
                            // From the kept channels' columns the forward pass built.
                            ConvInput::Kept { cols, list, keep, .. } if active.is_none() && sparse.is_none() && k::skips_weight_grad(&kept_shape(*keep)) => {
                                k::skip_conv_weight_grad(gpu, kept_shape(*keep), &dy, cols, list, grad);
                                k::bias_grad(gpu, &dy, &self.params[*b].grad, n, *out, hw);
                            }
                            _ => {
                                // After winners-take-all (positions not in whole vec4s) the
                                // dense gradient of all the columns: a dropped channel's are zero.
                                let cols = match &input {
                                    ConvInput::Cols(cols, _) => cols.clone(),
                                    ConvInput::Image(x) | ConvInput::Kept { x, .. } => {
                                        let cols = gpu.empty(&[g.patch(), g.positions()]);
                                        k::im2col(gpu, &g, x, &cols);
                                        cols
                                    }
                                };
                                match (active, sparse) {
                                    (Some(bsr), _) => k::bsr_conv_weight_grad(gpu, to_cn(), &cols, bsr, grad, g.positions()),
                                    (None, Some(bsr)) => k::bsr_weight_grad(gpu, to_cn(), &cols, bsr, grad, g.positions(), ActivationLayout::CONV),
                                    (None, None) => k::matmul(gpu, MatmulForm::NT, to_cn(), &cols, grad, *out, g.patch(), g.positions(), false),
                                }
                                k::bias_grad(gpu, &dy, &self.params[*b].grad, n, *out, hw);
                            }
                        }
                        if grads == Grads::Finished {
                            self.weight_grad_done(gpu, *w);
                        }
                    }
                    if !need_dx {
                        return None;
                    }
                    if let ConvInput::Kept { list, keep, .. } = &input {
                        // Only the kept channels' gradient: the dropped ones' is zero past
                        // winners-take-all's backward pass anyway.
                        let dcols = gpu.empty(&[keep * g.kh * g.kw, g.positions()]);
                        k::skip_conv_backward_data(gpu, kept_shape(*keep), self.weight(*w), &dy, list, &dcols);
                        let dx = gpu.zeros(&[n, g.c, g.h, g.w]);
                        k::col2im_kept(gpu, &g, &dcols, list, *keep, &dx);
                        dx
                    } else if let Some(bsr) = active {
                        let dx = gpu.empty(&[n, g.c, g.h, g.w]);
                        let dcols = gpu.empty(&[(bsr.active.count * bsr.block).max(1), g.positions()]);
                        k::bsr_conv_backward_data(gpu, to_cn(), bsr, &dcols, g.positions());
                        k::col2im_rows(gpu, &g, &dcols, &bsr.active.pos, &dx);
                        dx
                    } else {
                        let dx = gpu.empty(&[n, g.c, g.h, g.w]);
                        let dcols = gpu.empty(&[g.patch(), g.positions()]);
                        self.weights(*w).apply_t(gpu, to_cn(), &dcols, g.positions(), *out, g.patch(), ActivationLayout::CONV);
                        k::col2im(gpu, &g, &dcols, &dx);
                        dx
                    }
                }
                (Layer::Relu, Saved::Output(_)) if std::mem::take(&mut relu_done) => dy,
                (Layer::Relu, Saved::Output(y)) => {
                    k::relu_backward(gpu, &y, &dy);
                    dy
                }
                (Layer::Maxpool2, Saved::Pool(arg, s, y)) => {
                    // A pool over a ReLU's output does that ReLU's backward pass too.
                    relu_done = i > 0 && matches!(self.layers[i - 1], Layer::Relu);
                    let dx = gpu.empty(&s);
                    k::maxpool2_backward(gpu, &dy, &dx, &arg, relu_done.then_some(&y), s[0] * s[1], s[2], s[3]);
                    dx
                }
                (Layer::Flatten, Saved::Shape(s)) => dy.reshape(&s),
                (Layer::Threshold { theta, sparsity, l1 }, Saved::Output(y)) => {
                    // Training passes learn the threshold and add the L1 penalty's gradient.
                    let l1_grad = if param_grads {
                        k::threshold_learn(gpu, &y, &self.params[*theta].value, *sparsity, THRESHOLD_RATE, &gpu.empty(&[2 * k::THRESHOLD_GROUPS]));
                        *l1 / y.numel() as f32
                    } else {
                        0.0
                    };
                    let dx = gpu.empty(y.shape());
                    k::threshold_backward(gpu, &y, &dy, l1_grad, &dx);
                    dx
                }
                (Layer::Wta { .. }, Saved::Mask(mask, shape)) => {
                    let dx = gpu.empty(dy.shape());
                    k::wta_apply(gpu, shape, &dy, &mask, &dx);
                    dx
                }
                _ => unreachable!("tape does not match the model's layers"),
            };
        }
        Some(dy)
    }

    /// The block-sparse weights to compute a weight gradient with, unless the dense gradient
    /// was asked for (prune-and-regrow reads it at pruned weights).
    fn sparse_grad(&self, i: usize) -> Option<&Bsr> {
        self.sparse.get(&i).filter(|_| !self.dense_gradients.get())
    }

    /// Run pruned layers on the block-sparse kernels where that is faster. For each masked
    /// weight of a layer that is neither quantized nor packed, a block size B takes time about
    /// density(B) / crossover(B) of the dense product (at the crossover both take the same), so
    /// the block size with the smallest such ratio below 1 is chosen (ties to the larger B).
    /// Rebuilds the structure from the current masks (call again after the masks change);
    /// returns the layers moved.
    pub async fn use_block_sparse(&mut self, gpu: &Gpu, crossover: &crate::sparse::Crossover) -> Result<Vec<BlockSparseLayer>> {
        self.sparse.clear();
        let mut chosen = Vec::new();
        for i in 0..self.params.len() {
            let p = &self.params[i];
            let quantized = self.quant.as_ref().is_some_and(|q| q.find(i).is_some()) || self.packed.contains_key(&i);
            let Some(mask) = p.mask.as_ref().filter(|_| p.prunable() && !quantized) else { continue };
            let (n, kk) = crate::sparse::matrix_shape(p.value.shape());
            let mut best: Option<(f64, Bsr)> = None;
            for &block in k::BSR_BLOCKS.iter().rev() {
                let bsr = Bsr::from_mask(gpu, mask, &p.value, n, kk, block).await?;
                let limit = crossover.max_density(block);
                let ratio = if limit > 0.0 { bsr.density() / limit } else { f64::INFINITY };
                if ratio <= 1.0 && best.as_ref().is_none_or(|(r, _)| ratio < *r) {
                    best = Some((ratio, bsr));
                }
            }
            if let Some((_, bsr)) = best {
                chosen.push(BlockSparseLayer { weight: p.name.clone(), block: bsr.block, density: bsr.density() });
                self.sparse.insert(i, bsr);
            }
        }
        Ok(chosen)
    }

    /// Weight values each weight layer's kernels multiply by, by weight name: all of a dense
    /// layer's, the kept blocks' (padding included) of a block-sparse one.
    pub fn executed_weights(&self) -> HashMap<String, usize> {
        self.params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.prunable())
            .map(|(i, p)| (p.name.clone(), self.sparse.get(&i).map_or(p.value.numel(), |b| b.n_blocks * b.block * b.block)))
            .collect()
    }

    /// Per weight tensor, the share of its input channels (or units) that a winners-take-all
    /// layer before it keeps for each example (ReLU, max-pooling and flattening keep a zeroed
    /// channel zero); 1 without one.
    pub fn input_channel_densities(&self) -> HashMap<String, f64> {
        let wta = self.wta_inputs();
        let weights = self.layers.iter().filter_map(|l| match l {
            Layer::Linear { w, .. } | Layer::Conv2d { w, .. } => Some(*w),
            _ => None,
        });
        weights.map(|w| (self.params[w].name.clone(), wta.get(&w).map_or(1.0, |&(keep, channels)| keep as f64 / channels as f64))).collect()
    }

    /// Per weight layer (by its weight's index) that reads a winners-take-all layer's output:
    /// the channels kept and the channels of that activation.
    fn wta_inputs(&self) -> HashMap<usize, (usize, usize)> {
        let shapes = self.spec.shapes(self.input, self.classes).expect("the model was built from these shapes");
        let mut kept = None;
        let mut out = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            match l {
                Layer::Wta { keep } => kept = Some((*keep, shapes[i][0])),
                Layer::Linear { w, .. } | Layer::Conv2d { w, .. } => {
                    if let Some(k) = kept.take() {
                        out.insert(*w, k);
                    }
                }
                Layer::Relu | Layer::Maxpool2 | Layer::Flatten | Layer::Threshold { .. } => {}
            }
        }
        out
    }

    /// Per weight tensor, the share of nonzero values in its layer's input over the examples
    /// x, measured: what ReLUs, activation thresholds and winners-take-all leave for a kernel
    /// that skips zero activations.
    pub async fn input_densities(&self, gpu: &Gpu, x: Tensor) -> Result<HashMap<String, f64>> {
        let mut tape = Tape { saved: Vec::new(), inputs: Some(Vec::new()) };
        drop(self.forward(gpu, x, Some(&mut tape)));
        let inputs = tape.inputs.expect("asked for");
        let mut out = HashMap::new();
        for (layer, input) in self.layers.iter().zip(&inputs) {
            if let Layer::Linear { w, .. } | Layer::Conv2d { w, .. } = layer {
                let v = gpu.read_f32(input).await?;
                out.insert(self.params[*w].name.clone(), v.iter().filter(|&&a| a != 0.0).count() as f64 / v.len().max(1) as f64);
            }
        }
        Ok(out)
    }

    /// Multiply-adds per example the weight layers' kernels execute in inference on batches
    /// of `batch` (see `executed_weights`; a layer that skips the channels winners-take-all
    /// dropped does only its kept channels' share).
    pub fn executed_weights_macs(&self, batch: usize) -> usize {
        let uses = self.weight_uses_per_example();
        let wta = self.wta_inputs();
        let executed = self.executed_weights();
        let macs = self.params.iter().enumerate().filter(|(_, p)| p.prunable()).map(|(i, p)| {
            let all = (executed[&p.name] * uses.get(&p.name).copied().unwrap_or(0)) as f64;
            match wta.get(&i) {
                Some(&(keep, channels)) if self.skips_channels(i, batch, keep, channels) => all * keep as f64 / channels as f64,
                _ => all,
            }
        });
        macs.sum::<f64>().round() as usize
    }

    /// The parameters changed (an optimizer step, `set_values`): bring the block-sparse copies
    /// up to date.
    pub fn weights_changed(&self, gpu: &Gpu) {
        for (&i, bsr) in &self.sparse {
            k::bsr_gather(gpu, &self.params[i].value, bsr);
        }
    }

    /// The form weight `i`'s products run in: packed, block-sparse, or dense (`weight`).
    pub(super) fn weights(&self, i: usize) -> WeightsRef<'_> {
        match (self.packed.get(&i), self.sparse.get(&i)) {
            (Some(pk), _) => Weights::Packed(pk),
            (None, Some(bsr)) => Weights::Sparse(bsr),
            (None, None) => Weights::Dense(self.weight(i)),
        }
    }

    /// The weights of the forward pass: through the multiplier's table when one is in use
    /// (packed layers keep their own kernels).
    fn forward_weights(&self, i: usize) -> WeightsRef<'_> {
        match (&self.approx, self.packed.get(&i)) {
            (_, Some(pk)) if self.half_activations => Weights::PackedF16(pk),
            (Some(table), None) => Weights::Approx(self.weight(i), table),
            _ => self.weights(i),
        }
    }

    /// Compute the forward pass's weight products through an 8-bit multiplier's product table
    /// (i32 [65536], see `crate::faults::ProductTable`), or exactly again with None. Input
    /// gradients (attacks) and interval bounds keep the exact products.
    pub fn use_multiplier(&mut self, table: Option<Tensor>) {
        self.approx = table;
    }

    /// The weights a layer computes with: the dequantized ones under quantization.
    pub(super) fn weight(&self, i: usize) -> &Tensor {
        match self.quant.as_ref().and_then(|q| q.find(i)) {
            Some(q) => &q.wq,
            None => &self.params[i].value,
        }
    }

    /// A weight's gradient is written: mask it, then carry it to the latent weights.
    fn weight_grad_done(&self, gpu: &Gpu, i: usize) {
        if !self.dense_gradients.get() {
            if let Some(m) = &self.params[i].mask {
                k::apply_mask(gpu, m, &self.params[i].grad);
            }
        }
        if let Some(q) = &self.quant {
            q.backward(gpu, &self.params, i);
        }
    }

    /// Run inference and attacks on packed ternary weights from now on (quantized models only).
    pub fn use_packed(&mut self, gpu: &Gpu) -> Result<()> {
        let q = self.quant.as_ref().ok_or_else(|| AerError::Invalid(format!("model '{}' is not quantized: add a [quant] table (or train with --quant)", self.spec.name)))?;
        self.packed = q.pack(gpu, &self.params);
        Ok(())
    }

    /// Run the packed layers' forward products on half-precision activations (rounded to f16
    /// at each packed layer's input and output; input gradients stay f32), or in f32 again.
    /// Needs packed weights and an adapter with shader-f16.
    pub fn use_f16_activations(&mut self, gpu: &Gpu, on: bool) -> Result<()> {
        if on && self.packed.is_empty() {
            return Err(AerError::Invalid(format!("model '{}' has no packed ternary layers: f16 activations run on packed weights (pack it with `aer quantize`)", self.spec.name)));
        }
        if on && !gpu.has_f16() {
            return Err(AerError::Invalid(format!("{} has no shader-f16, so f16 activations cannot run on it: drop the f16 option or choose another adapter (`aer adapters` lists them)", gpu.adapter_label())));
        }
        self.half_activations = on;
        Ok(())
    }

    /// Use the given packed weights (by parameter index), e.g. read from a packed checkpoint.
    pub fn set_packed(&mut self, packed: HashMap<usize, PackedTernary>) {
        self.packed = packed;
    }

    pub fn packed(&self) -> &HashMap<usize, PackedTernary> {
        &self.packed
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
