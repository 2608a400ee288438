use super::shaders::OPTIM;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    nesterov: u32,
    decoupled: u32,
    _pad: u32,
    lr: f32,
    momentum: f32,
    weight_decay: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    bc1: f32,
    bc2: f32,
}

#[derive(Clone, Copy, Debug)]
pub struct SgdParams {
    pub lr: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    pub nesterov: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct AdamParams {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// AdamW: decay the weights directly instead of adding wd * w to the gradient.
    pub decoupled: bool,
    /// 1-based step count, for the bias corrections.
    pub step: u32,
}

/// SGD with momentum (PyTorch semantics, dampening 0) on w, with momentum buffer `buf`.
pub fn sgd(gpu: &Gpu, w: &Tensor, g: &Tensor, buf: &Tensor, s: &SgdParams) {
    let p = Params {
        n: w.numel() as u32,
        nesterov: s.nesterov as u32,
        decoupled: 0,
        _pad: 0,
        lr: s.lr,
        momentum: s.momentum,
        weight_decay: s.weight_decay,
        beta1: 0.0,
        beta2: 0.0,
        eps: 0.0,
        bc1: 1.0,
        bc2: 1.0,
    };
    gpu.launch(&Kernel { shader: &OPTIM, entry: "sgd" }, &[], &p, &[w, g, buf], grid_1d(w.numel()));
}

/// Adam / AdamW on w with moment buffers m and v.
pub fn adam(gpu: &Gpu, w: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, a: &AdamParams) {
    let t = a.step.max(1) as i32;
    let p = Params {
        n: w.numel() as u32,
        nesterov: 0,
        decoupled: a.decoupled as u32,
        _pad: 0,
        lr: a.lr,
        momentum: 0.0,
        weight_decay: a.weight_decay,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.eps,
        bc1: 1.0 - a.beta1.powi(t),
        bc2: 1.0 - a.beta2.powi(t),
    };
    gpu.launch(&Kernel { shader: &OPTIM, entry: "adam" }, &[], &p, &[w, g, m, v], grid_1d(w.numel()));
}
