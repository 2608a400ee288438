//! Interval bound propagation through a model (Gowal et al., 2018): for every example of a
//! batch, a box that contains the logits of every input in the L-inf ball of radius eps
//! around it (clipped to [0, 1]), and the bounds of the margins z_y - z_j against every other
//! class. Boxes travel in centre-radius form; weight layers multiply the centre by W and the
//! radius by |W| on the same kernels as the forward pass (dense, block-sparse or packed).
//!
//! With a tape, `bounds_backward` differentiates the margins' bounds with respect to the
//! parameters: certified training's loss.

use super::model::{Layer, Model};
use super::weights::{OwnedWeights, Weights};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, ActivationLayout, Bsr, BsrTernary, Conv2dGeometry, MatmulForm, PackedTernary};
use std::borrow::Borrow;

/// The bounds of one batch.
pub struct Bounds {
    /// The logits' box, [n, classes] each: lower = centre - radius, upper = centre + radius.
    pub centre: Tensor,
    pub radius: Tensor,
    /// [n, classes]: an upper bound of z_j - z_y for every class j (0 at the label y). The
    /// example is verified robust when all the others are negative.
    pub worst: Tensor,
}

/// What a bound pass keeps for `bounds_backward`.
pub struct BoundsTape {
    saved: Vec<BoxSaved>,
}

enum BoxSaved {
    /// A linear layer's input box and |W|.
    Linear(Tensor, Tensor, OwnedWeights),
    /// A convolution's im2col columns of the centre and of the radius, and |W|.
    Conv(Tensor, Tensor, Conv2dGeometry, OwnedWeights),
    /// ReLU's input box.
    Relu(Tensor, Tensor),
    /// Max-pool's winners (lower, upper corner) and input shape.
    Pool(Tensor, Tensor, Vec<usize>),
    Shape(Vec<usize>),
    /// Nothing: the layer's backward rule needs only the layer (a channel map, dropout).
    Nothing,
    /// A per-channel affine map's [scale | shift] and their magnitudes.
    Affine(Tensor, Tensor),
    /// The last linear layer folded into the margins: its input box.
    Margin(Tensor, Tensor),
}

impl Model {
    /// Whether the margins fold the last layer in (it is linear and not packed: the margin
    /// kernel reads dense weights). Otherwise they come from the logits' box, which is looser.
    pub fn folds_last_layer(&self) -> bool {
        matches!(self.layers.last(), Some(Layer::Linear { w, .. }) if !self.packed().contains_key(w))
    }

    /// Interval bounds need every layer to have a box rule: winners-take-all layers (whose
    /// selection depends on the input) have none here. (Batch normalization has one, as
    /// evaluated; certified training refuses it: see `Model::has_batchnorm`.)
    pub fn check_bounds(&self) -> crate::error::Result<()> {
        if self.layers.iter().any(|l| matches!(l, Layer::Wta { .. } | Layer::Threshold { .. })) {
            return Err(crate::error::AerError::Invalid(format!("model '{}' has winners-take-all (wta) or activation threshold layers, which interval bounds do not go through: verify or certify a model without them", self.spec.name)));
        }
        Ok(())
    }

    /// Whether a layer normalizes by batch statistics in training, which interval bounds (as
    /// evaluated, by the running ones) do not follow.
    pub fn has_batchnorm(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, Layer::Batchnorm { .. }))
    }

    /// Interval bounds of the logits and margins of x [n, C, H, W] (labels [n], u32) under
    /// L-inf perturbations of radius eps. With a tape, records what `bounds_backward` needs.
    pub fn bounds(&self, gpu: &Gpu, x: &Tensor, labels: &Tensor, eps: f32, mut tape: Option<&mut BoundsTape>) -> Bounds {
        if let (Some(q), true) = (&self.quant, self.packed().is_empty()) {
            q.refresh(gpu, &self.params);
        }
        let n = x.shape()[0];
        let (mut c, mut r) = (gpu.empty(x.shape()), gpu.empty(x.shape()));
        k::ibp_input(gpu, x, eps, &c, &r);
        let mut worst = None;
        let last = self.layers.len() - 1;
        // Residual slots' boxes (centre, radius); a sum of boxes is the box of the sums.
        let mut slots: Vec<Option<(Tensor, Tensor)>> = vec![None; self.slots()];
        for (i, layer) in self.layers.iter().enumerate() {
            if let (true, Layer::Linear { w, b, inp, .. }) = (i == last && self.folds_last_layer(), layer) {
                let t = gpu.empty(&[n, self.classes]);
                k::ibp_margin(gpu, &c, &r, self.weight(*w), &self.params[*b].value, labels, &t, n, self.classes, *inp);
                worst = Some(t);
                if let Some(tp) = tape.as_deref_mut() {
                    tp.saved.push(BoxSaved::Margin(c.clone(), r.clone()));
                }
            }
            let (yc, yr, saved) = match layer {
                Layer::Linear { w, b, inp, out } => {
                    let abs = self.weights(*w).abs(gpu);
                    let (yc, yr) = (gpu.empty(&[n, *out]), gpu.empty(&[n, *out]));
                    self.weights(*w).apply(gpu, &c, &yc, n, *out, *inp, ActivationLayout::LINEAR);
                    abs.apply(gpu, &r, &yr, n, *out, *inp, ActivationLayout::LINEAR);
                    k::bias_add(gpu, &yc, &self.params[*b].value, n, *out, 1);
                    (yc, yr, BoxSaved::Linear(c, r, abs))
                }
                Layer::Conv2d { w, b, out, kernel, stride, pad } => {
                    let g = Model::geometry(&c, *kernel, *stride, *pad);
                    let abs = self.weights(*w).abs(gpu);
                    let (cols_c, cols_r) = (gpu.empty(&[g.patch(), g.positions()]), gpu.empty(&[g.patch(), g.positions()]));
                    // Padding reads zero into both: a point, and inside every box.
                    k::im2col(gpu, &g, &c, &cols_c);
                    k::im2col(gpu, &g, &r, &cols_r);
                    let yc = conv_apply(gpu, &self.weights(*w), &cols_c, &g, *out);
                    let yr = conv_apply(gpu, &abs, &cols_r, &g, *out);
                    self.add_bias(gpu, *b, &yc, n, *out, g.oh() * g.ow());
                    (yc, yr, BoxSaved::Conv(cols_c, cols_r, g, abs))
                }
                Layer::Relu => {
                    let (yc, yr) = (gpu.empty(c.shape()), gpu.empty(c.shape()));
                    k::ibp_relu(gpu, &c, &r, &yc, &yr);
                    (yc, yr, BoxSaved::Relu(c, r))
                }
                Layer::Maxpool2 => {
                    let s = c.shape().to_vec();
                    let out_shape = [s[0], s[1], s[2] / 2, s[3] / 2];
                    let (yc, yr) = (gpu.empty(&out_shape), gpu.empty(&out_shape));
                    let (lo, hi) = (gpu.empty_u32(&out_shape), gpu.empty_u32(&out_shape));
                    k::ibp_maxpool(gpu, &c, &r, &yc, &yr, &lo, &hi, s[0] * s[1], s[2], s[3]);
                    (yc, yr, BoxSaved::Pool(lo, hi, s))
                }
                Layer::Flatten => {
                    let s = c.shape().to_vec();
                    let flat = [n, s[1..].iter().product()];
                    (c.reshape(&flat), r.reshape(&flat), BoxSaved::Shape(s))
                }
                // Scales are positive (checked in the spec): radii scale, centres map.
                Layer::ChannelAffine { affine } => {
                    let (yc, yr) = (gpu.empty(c.shape()), gpu.empty(c.shape()));
                    k::channel_affine(gpu, &c, affine, &yc);
                    k::channel_scale(gpu, &r, affine, &yr);
                    (yc, yr, BoxSaved::Nothing)
                }
                // Batch normalization as evaluated: a per-channel affine map whose scale may be
                // negative, so radii scale by its magnitude.
                Layer::Batchnorm { .. } => {
                    let (_, affine) = self.norm_affine(gpu, layer, &c, false);
                    let abs = gpu.empty(affine.shape());
                    k::abs_values(gpu, &affine, &abs);
                    let (yc, yr) = (gpu.empty(c.shape()), gpu.empty(c.shape()));
                    k::channel_affine(gpu, &c, &affine, &yc);
                    k::channel_scale(gpu, &r, &abs, &yr);
                    (yc, yr, BoxSaved::Affine(affine, abs))
                }
                // Bounds hold for the model as evaluated: no dropout.
                Layer::Dropout { .. } => (c, r, BoxSaved::Nothing),
                // A mean with nonnegative weights: of the centres, and of the radii.
                Layer::GlobalAvgpool => {
                    let s = c.shape().to_vec();
                    let (yc, yr) = (gpu.empty(&[s[0], s[1], 1, 1]), gpu.empty(&[s[0], s[1], 1, 1]));
                    k::global_avgpool_forward(gpu, &c, &yc, s[0] * s[1], s[2] * s[3]);
                    k::global_avgpool_forward(gpu, &r, &yr, s[0] * s[1], s[2] * s[3]);
                    (yc, yr, BoxSaved::Shape(s))
                }
                Layer::Save(s) => {
                    slots[*s] = Some((c.clone(), r.clone()));
                    (c, r, BoxSaved::Nothing)
                }
                Layer::Swap(s) => {
                    let (sc, sr) = slots[*s].replace((c, r)).expect("the spec checks a save comes first");
                    (sc, sr, BoxSaved::Nothing)
                }
                Layer::Add(s) => {
                    let (sc, sr) = slots[*s].take().expect("the spec checks a save comes first");
                    let (yc, yr) = (gpu.duplicate(&c), gpu.duplicate(&r));
                    k::add_assign(gpu, &yc, &sc);
                    k::add_assign(gpu, &yr, &sr);
                    (yc, yr, BoxSaved::Nothing)
                }
                Layer::Wta { .. } | Layer::Threshold { .. } => panic!("{}", self.check_bounds().unwrap_err()),
            };
            // The folded last layer's own box is for reporting only: nothing to keep for it.
            if let (Some(tp), false) = (tape.as_deref_mut(), i == last && worst.is_some()) {
                tp.saved.push(saved);
            }
            (c, r) = (yc, yr);
        }
        let worst = worst.unwrap_or_else(|| {
            let t = gpu.empty(&[n, self.classes]);
            k::ibp_worst_from_bounds(gpu, &c, &r, labels, &t, n, self.classes);
            t
        });
        Bounds { centre: c, radius: r, worst }
    }

    pub fn bounds_tape(&self) -> BoundsTape {
        BoundsTape { saved: Vec::with_capacity(self.layers.len()) }
    }

    /// Add the gradient of a loss on the margins' bounds (`dworst`, the gradient with respect
    /// to `Bounds::worst`) to every parameter's raw gradient (see `Model::backward_raw`; call
    /// `finish_gradients` after). Needs the last layer folded in (a linear last layer).
    pub fn bounds_backward(&self, gpu: &Gpu, tape: BoundsTape, labels: &Tensor, dworst: &Tensor) {
        assert!(self.packed().is_empty(), "a packed ternary model has no parameter gradients: train the latent weights instead");
        assert!(self.folds_last_layer(), "certified training needs a model whose last layer is linear");
        let n = dworst.shape()[0];
        let mut dc = gpu.empty(&[0]);
        let mut dr = gpu.empty(&[0]);
        let mut slots: Vec<Option<(Tensor, Tensor)>> = vec![None; self.slots()];
        for (i, (layer, saved)) in self.layers.iter().zip(tape.saved).enumerate().rev() {
            let need_in = i > 0;
            match (layer, saved) {
                (Layer::Linear { w, b, inp, .. }, BoxSaved::Margin(c, r)) => {
                    (dc, dr) = (gpu.empty(c.shape()), gpu.empty(c.shape()));
                    let grads = (&self.params[*w].grad, &self.params[*b].grad);
                    let d_in = need_in.then_some((&dc, &dr));
                    k::ibp_margin_backward(gpu, dworst, &c, &r, self.weight(*w), labels, d_in, Some(grads), n, self.classes, *inp);
                }
                (Layer::Linear { w, b, inp, out }, BoxSaved::Linear(c, r, abs)) => {
                    let grad = &self.params[*w].grad;
                    k::matmul(gpu, MatmulForm::TN, &dc, &c, grad, *out, *inp, n, true);
                    let g_abs = gpu.empty(grad.shape());
                    k::matmul(gpu, MatmulForm::TN, &dr, &r, &g_abs, *out, *inp, n, false);
                    k::sign_accumulate(gpu, self.weight(*w), &g_abs, grad);
                    k::bias_grad_accumulate(gpu, &dc, &self.params[*b].grad, n, *out, 1);
                    if need_in {
                        let (dc_in, dr_in) = (gpu.empty(c.shape()), gpu.empty(r.shape()));
                        self.weights(*w).apply_t(gpu, &dc, &dc_in, n, *out, *inp, ActivationLayout::LINEAR);
                        abs.apply_t(gpu, &dr, &dr_in, n, *out, *inp, ActivationLayout::LINEAR);
                        (dc, dr) = (dc_in, dr_in);
                    }
                }
                (Layer::Conv2d { w, b, out, .. }, BoxSaved::Conv(cols_c, cols_r, g, abs)) => {
                    let hw = g.oh() * g.ow();
                    let (dc_cn, dr_cn) = (gpu.empty(&[*out, g.positions()]), gpu.empty(&[*out, g.positions()]));
                    k::nchw_to_cnhw(gpu, &dc, &dc_cn, n, *out, hw);
                    k::nchw_to_cnhw(gpu, &dr, &dr_cn, n, *out, hw);
                    let grad = &self.params[*w].grad;
                    k::matmul(gpu, MatmulForm::NT, &dc_cn, &cols_c, grad, *out, g.patch(), g.positions(), true);
                    let g_abs = gpu.empty(grad.shape());
                    k::matmul(gpu, MatmulForm::NT, &dr_cn, &cols_r, &g_abs, *out, g.patch(), g.positions(), false);
                    k::sign_accumulate(gpu, self.weight(*w), &g_abs, grad);
                    if let Some(b) = b {
                        k::bias_grad_accumulate(gpu, &dc, &self.params[*b].grad, n, *out, hw);
                    }
                    if need_in {
                        (dc, dr) = (conv_apply_t(gpu, &self.weights(*w), &dc_cn, &g, *out), conv_apply_t(gpu, &abs, &dr_cn, &g, *out));
                    }
                }
                (Layer::Relu, BoxSaved::Relu(c, r)) => k::ibp_relu_backward(gpu, &c, &r, &dc, &dr),
                (Layer::Maxpool2, BoxSaved::Pool(lo, hi, s)) => {
                    let (dc_in, dr_in) = (gpu.empty(&s), gpu.empty(&s));
                    k::ibp_maxpool_backward(gpu, &dc, &dr, &lo, &hi, &dc_in, &dr_in, s[0] * s[1], s[2], s[3]);
                    (dc, dr) = (dc_in, dr_in);
                }
                (Layer::Flatten, BoxSaved::Shape(s)) => (dc, dr) = (dc.reshape(&s), dr.reshape(&s)),
                (Layer::ChannelAffine { affine }, BoxSaved::Nothing) => {
                    let (dc_in, dr_in) = (gpu.empty(dc.shape()), gpu.empty(dr.shape()));
                    k::channel_scale(gpu, &dc, affine, &dc_in);
                    k::channel_scale(gpu, &dr, affine, &dr_in);
                    (dc, dr) = (dc_in, dr_in);
                }
                (Layer::Batchnorm { .. }, BoxSaved::Affine(affine, abs)) => {
                    let (dc_in, dr_in) = (gpu.empty(dc.shape()), gpu.empty(dr.shape()));
                    k::channel_scale(gpu, &dc, &affine, &dc_in);
                    k::channel_scale(gpu, &dr, &abs, &dr_in);
                    (dc, dr) = (dc_in, dr_in);
                }
                (Layer::Dropout { .. }, BoxSaved::Nothing) => {}
                (Layer::Add(s), BoxSaved::Nothing) => slots[*s] = Some((gpu.duplicate(&dc), gpu.duplicate(&dr))),
                (Layer::Swap(s), BoxSaved::Nothing) => (dc, dr) = slots[*s].replace((dc, dr)).expect("an add came after the swap"),
                (Layer::Save(s), BoxSaved::Nothing) => {
                    let (gc, gr) = slots[*s].take().expect("an add came after the save");
                    k::add_assign(gpu, &dc, &gc);
                    k::add_assign(gpu, &dr, &gr);
                }
                (Layer::GlobalAvgpool, BoxSaved::Shape(s)) => {
                    let (dc_in, dr_in) = (gpu.empty(&s), gpu.empty(&s));
                    k::global_avgpool_backward(gpu, &dc, &dc_in, s[0] * s[1], s[2] * s[3]);
                    k::global_avgpool_backward(gpu, &dr, &dr_in, s[0] * s[1], s[2] * s[3]);
                    (dc, dr) = (dc_in, dr_in);
                }
                _ => unreachable!("bounds tape does not match the model's layers"),
            }
            if !need_in {
                break;
            }
        }
    }
}

/// A convolution's output [n, out, oh, ow] from im2col columns through `w`.
fn conv_apply<T: Borrow<Tensor>, S: Borrow<Bsr>, P: Borrow<PackedTernary>, Q: Borrow<BsrTernary>>(gpu: &Gpu, w: &Weights<T, S, P, Q>, cols: &Tensor, g: &Conv2dGeometry, out: usize) -> Tensor {
    let y_cn = gpu.empty(&[out, g.positions()]);
    w.apply(gpu, cols, &y_cn, g.positions(), out, g.patch(), ActivationLayout::CONV);
    let y = gpu.empty(&[g.n, out, g.oh(), g.ow()]);
    k::cnhw_to_nchw(gpu, &y_cn, &y, g.n, out, g.oh() * g.ow());
    y
}

/// The input gradient [n, c, h, w] of `conv_apply` from the output gradient in [out, positions].
fn conv_apply_t<T: Borrow<Tensor>, S: Borrow<Bsr>, P: Borrow<PackedTernary>, Q: Borrow<BsrTernary>>(gpu: &Gpu, w: &Weights<T, S, P, Q>, dy_cn: &Tensor, g: &Conv2dGeometry, out: usize) -> Tensor {
    let dcols = gpu.empty(&[g.patch(), g.positions()]);
    w.apply_t(gpu, dy_cn, &dcols, g.positions(), out, g.patch(), ActivationLayout::CONV);
    let dx = gpu.empty(&[g.n, g.c, g.h, g.w]);
    k::col2im(gpu, g, &dcols, &dx);
    dx
}
