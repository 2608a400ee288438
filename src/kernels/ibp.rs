//! Launchers for `shaders/ibp.wgsl`: interval bound propagation's monotone layers, the
//! elided margin of the last linear layer, and their backward passes. A box is a pair of
//! tensors (centre, radius) of the same shape.

use super::shaders::IBP;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    classes: u32,
    k: u32,
    h: u32,
    w: u32,
    oh: u32,
    ow: u32,
    eps: f32,
}

fn elementwise(n: usize) -> Params {
    Params { n: n as u32, ..Default::default() }
}

fn pool(planes: usize, h: usize, w: usize) -> Params {
    Params { n: planes as u32, h: h as u32, w: w as u32, oh: (h / 2) as u32, ow: (w / 2) as u32, ..Default::default() }
}

fn margin(n: usize, classes: usize, k: usize) -> Params {
    Params { n: n as u32, classes: classes as u32, k: k as u32, ..Default::default() }
}

fn kernel(entry: &'static str) -> Kernel {
    Kernel { shader: &IBP, entry }
}

/// The box of the L-inf ball of radius `eps` around x, clipped to [0, 1].
pub fn ibp_input(gpu: &Gpu, x: &Tensor, eps: f32, c: &Tensor, r: &Tensor) {
    let p = Params { eps, ..elementwise(x.numel()) };
    gpu.launch(&kernel("ibp_input"), &[], &p, &[x, x, c, r], grid_1d(x.numel()));
}

/// The box of relu over the box (c, r).
pub fn ibp_relu(gpu: &Gpu, c: &Tensor, r: &Tensor, c_out: &Tensor, r_out: &Tensor) {
    gpu.launch(&kernel("ibp_relu"), &[], &elementwise(c.numel()), &[c, r, c_out, r_out], grid_1d(c.numel()));
}

/// (dc, dr) with respect to relu's input box (c, r), in place of the output box's gradient.
pub fn ibp_relu_backward(gpu: &Gpu, c: &Tensor, r: &Tensor, dc: &Tensor, dr: &Tensor) {
    gpu.launch(&kernel("ibp_relu_backward"), &[], &elementwise(c.numel()), &[c, r, dc, dr], grid_1d(c.numel()));
}

/// The box of a 2x2/stride-2 max-pool over `planes` planes of h x w; `arg_lo`/`arg_hi` record
/// the windows' maxima of the lower and upper corners.
#[allow(clippy::too_many_arguments)]
pub fn ibp_maxpool(gpu: &Gpu, c: &Tensor, r: &Tensor, c_out: &Tensor, r_out: &Tensor, arg_lo: &Tensor, arg_hi: &Tensor, planes: usize, h: usize, w: usize) {
    let t = [c, r, c_out, r_out, arg_lo, arg_hi];
    gpu.launch(&kernel("ibp_maxpool"), &[], &pool(planes, h, w), &t, grid_1d(planes * (h / 2) * (w / 2)));
}

/// (dc, dr) over the input planes from the output box's gradient and the forward's maxima.
#[allow(clippy::too_many_arguments)]
pub fn ibp_maxpool_backward(gpu: &Gpu, dc_out: &Tensor, dr_out: &Tensor, arg_lo: &Tensor, arg_hi: &Tensor, dc: &Tensor, dr: &Tensor, planes: usize, h: usize, w: usize) {
    let t = [dc_out, dr_out, dc, dr, arg_lo, arg_hi];
    gpu.launch(&kernel("ibp_maxpool_backward"), &[], &pool(planes, h, w), &t, grid_1d(planes * h * w));
}

/// y = |x|.
pub fn abs_values(gpu: &Gpu, x: &Tensor, y: &Tensor) {
    gpu.launch(&kernel("abs_values"), &[], &elementwise(x.numel()), &[x, x, y], grid_1d(x.numel()));
}

/// y = -x.
pub fn negate_values(gpu: &Gpu, x: &Tensor, y: &Tensor) {
    gpu.launch(&kernel("negate_values"), &[], &elementwise(x.numel()), &[x, x, y], grid_1d(x.numel()));
}

/// grad += sign(w) * g: the chain rule through |w| (g is the gradient with respect to |w|).
pub fn sign_accumulate(gpu: &Gpu, w: &Tensor, g: &Tensor, grad: &Tensor) {
    let n = w.numel();
    gpu.launch(&kernel("sign_accumulate"), &[], &elementwise(n), &[g, g, g, g, g, g, w, w, w, w, grad], grid_1d(n));
}

/// worst [n, classes]: upper bounds of z_j - z_y (0 at the label) for the last linear layer
/// (w [classes, k], b) applied to the box (c, r) [n, k].
#[allow(clippy::too_many_arguments)]
pub fn ibp_margin(gpu: &Gpu, c: &Tensor, r: &Tensor, w: &Tensor, b: &Tensor, labels: &Tensor, worst: &Tensor, n: usize, classes: usize, k: usize) {
    let t = [c, r, worst, worst, worst, worst, w, b, labels, worst];
    gpu.launch(&kernel("ibp_margin"), &[], &margin(n, classes, k), &t, grid_1d(n * classes));
}

/// The backward pass of `ibp_margin`: (dc, dr) [n, k] from dworst and, when given, the
/// weight and bias gradients added to `grads` = (grad_w, grad_b).
#[allow(clippy::too_many_arguments)]
pub fn ibp_margin_backward(
    gpu: &Gpu,
    dworst: &Tensor,
    c: &Tensor,
    r: &Tensor,
    w: &Tensor,
    labels: &Tensor,
    d_in: Option<(&Tensor, &Tensor)>,
    grads: Option<(&Tensor, &Tensor)>,
    n: usize,
    classes: usize,
    k: usize,
) {
    let p = margin(n, classes, k);
    if let Some((dc, dr)) = d_in {
        let t = [c, r, dc, dr, dc, dc, w, w, labels, dworst];
        gpu.launch(&kernel("ibp_margin_backward_input"), &[], &p, &t, grid_1d(n * k));
    }
    if let Some((gw, gb)) = grads {
        let t = [c, r, gw, gw, gw, gw, w, w, labels, dworst, gw, gb];
        gpu.launch(&kernel("ibp_margin_backward_weight"), &[], &p, &t, grid_1d(classes * (k + 1)));
    }
}

/// worst [n, classes] from the logits' box (c, r) [n, classes]: upper(z_j) - lower(z_y).
pub fn ibp_worst_from_bounds(gpu: &Gpu, c: &Tensor, r: &Tensor, labels: &Tensor, worst: &Tensor, n: usize, classes: usize) {
    let t = [c, r, worst, worst, worst, worst, c, c, labels, worst];
    gpu.launch(&kernel("ibp_worst_from_bounds"), &[], &margin(n, classes, 0), &t, grid_1d(n * classes));
}
