//! The forward pass: logits for a batch, layer by layer on the kernels the plan chose, with
//! what the backward pass needs kept on a tape.

use super::model::{Layer, Model};
use super::tape::{ConvInput, KeptChannels, Saved, Tape};
use super::weights::Weights;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, ActivationLayout, Conv2dGeometry};
use std::collections::HashMap;

impl Model {
    /// Logits [N, classes] for x [N, C, H, W]. With a tape, everything the backward pass needs
    /// is kept on it.
    pub fn forward(&self, gpu: &Gpu, x: Tensor, mut tape: Option<&mut Tape>) -> Tensor {
        let n = x.shape()[0];
        let mut x = x;
        let mut packed_now = HashMap::new();
        if let (Some(q), true) = (&self.quant, self.plan.packed.is_empty()) {
            q.refresh(gpu, &self.params);
            let packs = q.weights.iter().filter(|qw| self.trains_packed(gpu, qw.param));
            packed_now = packs.map(|qw| (qw.param, q.pack_weight(gpu, &self.params, qw))).collect();
        }
        let mut kept: Option<KeptChannels> = None;
        // Set by a layer that applied the ReLU after it itself (conv_direct, a linear layer).
        let mut relu_done = false;
        let mut slots: Vec<Option<Tensor>> = vec![None; self.slots()];
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
                    self.add_bias(gpu, *b, &y, n, *out, hw);
                    (y, Saved::Conv(ConvInput::Kept { x, cols, list: kc.list.clone(), keep: kc.keep }, g))
                }
                Layer::Linear { w, b, inp, out } => {
                    let y = gpu.empty(&[n, *out]);
                    let unpacked = self.unpacked_for_batch(gpu, *w, n);
                    let weights = match (&unpacked, packed_now.get(w)) {
                        (Some(dense), _) => Weights::Dense(dense),
                        (None, Some(pk)) => Weights::Packed(pk),
                        (None, None) => self.forward_weights(*w),
                    };
                    weights.apply(gpu, &x, &y, n, *out, *inp, ActivationLayout::LINEAR);
                    // The ReLU after the layer in the same pass as the bias.
                    relu_done = matches!(self.layers.get(i + 1), Some(Layer::Relu));
                    match relu_done {
                        true => k::bias_relu(gpu, &y, &self.params[*b].value, n, *out, 1),
                        false => k::bias_add(gpu, &y, &self.params[*b].value, n, *out, 1),
                    }
                    (y, Saved::Input(x))
                }
                Layer::Conv2d { w, b, out, kernel, stride, pad } if self.convolves_directly(*w, &Self::geometry(&x, *kernel, *stride, *pad), *out) => {
                    let g = Self::geometry(&x, *kernel, *stride, *pad);
                    let y = gpu.empty(&[n, *out, g.oh(), g.ow()]);
                    relu_done = matches!(self.layers.get(i + 1), Some(Layer::Relu));
                    k::conv_direct(gpu, &g, &x, self.weight(*w), &self.bias_or_zeros(gpu, *b, *out), &y, *out, relu_done);
                    (y, Saved::Conv(ConvInput::Image(x), g))
                }
                Layer::Conv2d { w, b, out, kernel, stride, pad } => {
                    let g = Self::geometry(&x, *kernel, *stride, *pad);
                    let y_cn = gpu.empty(&[*out, g.positions()]);
                    // Block-sparse weights that leave whole patch rows unread need only the
                    // others built (unless a dense weight gradient, which reads them all, is asked for).
                    let active = self.block_structure(*w).filter(|b| b.active.count < b.block_cols() && !self.dense_gradients.get() && self.plan.approx.is_none());
                    let cols = match active {
                        Some(bsr) => {
                            let rows = bsr.active.count * bsr.block;
                            // (A layer with no block left reads no row at all.)
                            let cols = gpu.empty(&[rows.max(1), g.positions()]);
                            k::im2col_rows(gpu, &g, &x, &bsr.active.rows, rows, &cols);
                            match self.plan.sparse_ternary.get(w) {
                                Some(bt) => k::bsr_ternary_conv_forward(gpu, &cols, bt, &y_cn, g.positions()),
                                None => k::bsr_conv_forward(gpu, &cols, bsr, &y_cn, g.positions()),
                            }
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
                    // The ReLU after the layer in the same pass as the bias, where it has one.
                    match b {
                        Some(b) if matches!(self.layers.get(i + 1), Some(Layer::Relu)) => {
                            k::bias_relu(gpu, &y, &self.params[*b].value, n, *out, hw);
                            relu_done = true;
                        }
                        _ => self.add_bias(gpu, *b, &y, n, *out, hw),
                    }
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
                Layer::ChannelAffine { affine } => {
                    // A shift makes dropped channels nonzero: nothing left to skip.
                    kept = None;
                    let y = gpu.empty(x.shape());
                    k::channel_affine(gpu, &x, affine, &y);
                    (y, Saved::Nothing)
                }
                Layer::Batchnorm { .. } => {
                    kept = None;
                    let batch_stats = self.training.get().is_some();
                    let (stats, affine) = self.norm_affine(gpu, layer, &x, batch_stats);
                    let y = gpu.empty(x.shape());
                    k::channel_affine(gpu, &x, &affine, &y);
                    (y, Saved::Norm { x, stats, affine, batch_stats })
                }
                Layer::Dropout { rate } => match self.training.get().or(self.inference_dropout.get()) {
                    Some(step_seed) if *rate > 0.0 => {
                        // Each layer its own mask.
                        let seed = crate::reference::common::pcg(step_seed ^ (i as u32).wrapping_mul(0x9e37_79b9));
                        let y = gpu.empty(x.shape());
                        k::dropout(gpu, &x, &y, *rate, seed);
                        (y, Saved::Dropout(Some(seed)))
                    }
                    _ => (x.clone(), Saved::Dropout(None)),
                },
                Layer::GlobalAvgpool => {
                    let s = x.shape().to_vec();
                    let y = gpu.empty(&[s[0], s[1], 1, 1]);
                    k::global_avgpool_forward(gpu, &x, &y, s[0] * s[1], s[2] * s[3]);
                    (y, Saved::Shape(s))
                }
                // Residual slots: channels kept by winners-take-all are not followed across them.
                Layer::Save(s) => {
                    kept = None;
                    slots[*s] = Some(x.clone());
                    (x, Saved::Nothing)
                }
                Layer::Swap(s) => {
                    kept = None;
                    (slots[*s].replace(x).expect("the spec checks a save comes first"), Saved::Nothing)
                }
                Layer::Add(s) => {
                    kept = None;
                    // A copy: x may be on the tape (a ReLU's output).
                    let y = gpu.duplicate(&x);
                    k::add_assign(gpu, &y, &slots[*s].take().expect("the spec checks a save comes first"));
                    (y, Saved::Nothing)
                }
            };
            if let Some(t) = tape.as_deref_mut() {
                t.saved.push(saved);
            }
            x = y;
        }
        x
    }

    /// A batch normalization layer's statistics [mean | invstd] and scale and shift
    /// [scale | shift] for x: from the batch (which also moves the running statistics), or
    /// from the running statistics.
    pub(super) fn norm_affine(&self, gpu: &Gpu, layer: &Layer, x: &Tensor, batch_stats: bool) -> (Tensor, Tensor) {
        let Layer::Batchnorm { gamma, beta, mean, var, momentum, eps } = layer else { unreachable!("a batch normalization layer") };
        let s = k::NormShape::of(x);
        let (stats, affine) = (gpu.empty(&[2 * s.c]), gpu.empty(&[2 * s.c]));
        let p = |i: usize| &self.params[i].value;
        let t = k::NormTensors { gamma: p(*gamma), beta: p(*beta), running_mean: p(*mean), running_var: p(*var), stats: &stats, scale_shift: &affine };
        if batch_stats {
            k::bn_train_stats(gpu, s, x, &t, *momentum, *eps);
        } else {
            k::bn_eval_affine(gpu, s, x, &t, *eps);
        }
        (stats, affine)
    }

    /// y [outer, channels, inner] += a convolution's bias, where it has one.
    pub(super) fn add_bias(&self, gpu: &Gpu, b: Option<usize>, y: &Tensor, outer: usize, channels: usize, inner: usize) {
        if let Some(b) = b {
            k::bias_add(gpu, y, &self.params[b].value, outer, channels, inner);
        }
    }

    /// A convolution's bias, or zeros for a kernel that always adds one.
    fn bias_or_zeros(&self, gpu: &Gpu, b: Option<usize>, out: usize) -> Tensor {
        b.map_or_else(|| gpu.zeros(&[out]), |b| self.params[b].value.clone())
    }

    /// A square convolution's geometry over the batch x [n, c, h, w].
    pub(super) fn geometry(x: &Tensor, kernel: usize, stride: usize, pad: usize) -> Conv2dGeometry {
        let s = x.shape();
        Conv2dGeometry { n: s[0], c: s[1], h: s[2], w: s[3], kh: kernel, kw: kernel, stride, pad }
    }
}
