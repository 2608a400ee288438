//! The backward pass: parameter gradients (masked, and carried to latent weights under
//! quantization) and the input gradient attacks need, from a forward pass's tape.

use super::model::{Layer, Model};
use super::tape::{ConvInput, Grads, Saved, Tape};
use super::weights::Weights;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, ActivationLayout, Bsr, MatmulForm};

/// Learning rate of activation thresholds (`threshold_learn`): relative to the threshold plus
/// the mean activation, so a few dozen steps bring a threshold to its quantile.
const THRESHOLD_RATE: f32 = 0.2;

impl Model {
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

    pub(super) fn backprop(&self, gpu: &Gpu, tape: Tape, dy: Tensor, grads: Grads, input_grad: bool) -> Option<Tensor> {
        let param_grads = grads != Grads::Skip;
        assert!(
            !param_grads || self.plan.packed.is_empty(),
            "a packed ternary model has no parameter gradients: train the latent weights (a checkpoint with [quant]) instead"
        );
        let mut dy = dy;
        let n = dy.shape()[0];
        // Set by a max-pool that did the backward pass of the ReLU before it.
        let mut relu_done = false;
        // Set by a ReLU that wrote the bias gradient of the linear layer before it.
        let mut bias_done = false;
        // The gradient of each residual slot's activation, from its add back to its save.
        let mut slots: Vec<Option<Tensor>> = vec![None; self.slots()];
        // Below the first layer with parameters (e.g. a flatten or the input's normalization)
        // no gradient is needed unless the input's is.
        let first_learned = self.layers.iter().position(Layer::learns).unwrap_or(usize::MAX);
        for (i, (layer, saved)) in self.layers.iter().zip(tape.saved).enumerate().rev() {
            let need_dx = input_grad || i > first_learned;
            dy = match (layer, saved) {
                (Layer::Linear { w, b, inp, out }, Saved::Input(x)) => {
                    if param_grads {
                        match self.sparse_grad(*w) {
                            Some(bsr) => k::bsr_weight_grad(gpu, &dy, &x, bsr, &self.params[*w].grad, n, ActivationLayout::LINEAR),
                            None => k::matmul(gpu, MatmulForm::TN, &dy, &x, &self.params[*w].grad, *out, *inp, n, false),
                        }
                        if !std::mem::take(&mut bias_done) {
                            k::bias_grad(gpu, &dy, &self.params[*b].grad, n, *out, 1);
                        }
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
                    let active = self.block_structure(*w).filter(|_| matches!(input, ConvInput::Cols(_, true)));
                    // After winners-take-all: the products over the kept channels only.
                    let kept_shape = |keep: usize| k::SkipShape { n, m: *out, k: g.patch(), g: g.kh * g.kw, keep, p: hw };
                    if param_grads {
                        let grad = &self.params[*w].grad;
                        let sparse = self.sparse_grad(*w);
                        match &input {
                            // Straight from the image, as the forward pass was (conv_direct).
                            ConvInput::Image(x) if active.is_none() && sparse.is_none() && k::takes_direct_weight_grad(gpu, &g, *out) => {
                                // Without a bias, its gradient goes to scratch.
                                let bias_grad = b.map_or_else(|| gpu.empty(&[*out]), |b| self.params[b].grad.clone());
                                k::conv_direct_weight_grad(gpu, &g, x, &dy, grad, &bias_grad, *out);
                            }
                            // From the kept channels' columns the forward pass built.
                            ConvInput::Kept { cols, list, keep, .. } if active.is_none() && sparse.is_none() && k::skips_weight_grad(&kept_shape(*keep)) => {
                                k::skip_conv_weight_grad(gpu, kept_shape(*keep), &dy, cols, list, grad);
                                if let Some(b) = b {
                                    k::bias_grad(gpu, &dy, &self.params[*b].grad, n, *out, hw);
                                }
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
                                if let Some(b) = b {
                                    k::bias_grad(gpu, &dy, &self.params[*b].grad, n, *out, hw);
                                }
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
                        match self.plan.sparse_ternary.get(w) {
                            Some(bt) => k::bsr_ternary_conv_backward_data(gpu, to_cn(), bt, &dcols, g.positions()),
                            None => k::bsr_conv_backward_data(gpu, to_cn(), bsr, &dcols, g.positions()),
                        }
                        k::col2im_rows(gpu, &g, &dcols, &bsr.active.pos, &dx);
                        dx
                    } else if let (Weights::Dense(w), true) = (self.weights(*w), self.plan.direct_conv && k::takes_direct_input_grad(&g, *out)) {
                        // Straight from dy in NCHW, as a direct convolution with the weights turned.
                        let dx = gpu.empty(&[n, g.c, g.h, g.w]);
                        k::conv_direct_input_grad(gpu, &g, &dy, w, &dx, *out);
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
                    // Over a linear layer: that layer's bias gradient in the same pass.
                    match i.checked_sub(1).map(|j| &self.layers[j]) {
                        Some(Layer::Linear { b, out, .. }) if param_grads => {
                            k::relu_bias_grad(gpu, &y, &dy, &self.params[*b].grad, n, *out);
                            bias_done = true;
                        }
                        _ => k::relu_backward(gpu, &y, &dy),
                    }
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
                (Layer::ChannelAffine { affine }, Saved::Nothing) => {
                    let dx = gpu.empty(dy.shape());
                    k::channel_scale(gpu, &dy, affine, &dx);
                    dx
                }
                (Layer::Batchnorm { gamma, beta, .. }, Saved::Norm { x, stats, affine, batch_stats }) => {
                    let s = k::NormShape::of(&dy);
                    let dx = gpu.empty(dy.shape());
                    // The sums are dgamma and dbeta, and what dx through batch statistics needs.
                    if param_grads || batch_stats {
                        let sums = gpu.empty(&[2 * s.c]);
                        let t = k::NormGrads { x: &x, dy: &dy, stats: &stats, gamma: &self.params[*gamma].value, sums: &sums, dx: &dx };
                        k::bn_backward_reduce(gpu, s, &t);
                        if param_grads {
                            gpu.copy_range(&sums, 0, &self.params[*gamma].grad, 0, s.c);
                            gpu.copy_range(&sums, s.c, &self.params[*beta].grad, 0, s.c);
                        }
                        if batch_stats && need_dx {
                            k::bn_backward_dx(gpu, s, &t);
                        }
                    }
                    if !need_dx {
                        return None;
                    }
                    if !batch_stats {
                        k::channel_scale(gpu, &dy, &affine, &dx);
                    }
                    dx
                }
                (Layer::Dropout { rate }, Saved::Dropout(seed)) => match seed {
                    Some(seed) => {
                        let dx = gpu.empty(dy.shape());
                        k::dropout(gpu, &dy, &dx, *rate, seed);
                        dx
                    }
                    None => dy,
                },
                (Layer::GlobalAvgpool, Saved::Shape(s)) => {
                    let dx = gpu.empty(&s);
                    k::global_avgpool_backward(gpu, &dy, &dx, s[0] * s[1], s[2] * s[3]);
                    dx
                }
                // Both summands get the sum's gradient (a copy: ReLU's backward works in place).
                (Layer::Add(s), Saved::Nothing) => {
                    slots[*s] = Some(gpu.duplicate(&dy));
                    dy
                }
                (Layer::Swap(s), Saved::Nothing) => slots[*s].replace(dy).expect("an add came after the swap"),
                (Layer::Save(s), Saved::Nothing) => {
                    k::add_assign(gpu, &dy, &slots[*s].take().expect("an add came after the save"));
                    dy
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
    pub(super) fn sparse_grad(&self, i: usize) -> Option<&Bsr> {
        self.plan.sparse.get(&i).filter(|_| !self.dense_gradients.get())
    }

    /// A weight's gradient is written: mask it, then carry it to the latent weights.
    pub(super) fn weight_grad_done(&self, gpu: &Gpu, i: usize) {
        if !self.dense_gradients.get() {
            if let Some(m) = &self.params[i].mask {
                k::apply_mask(gpu, m, &self.params[i].grad);
            }
        }
        if let Some(q) = &self.quant {
            q.backward(gpu, &self.params, i);
        }
    }
}
