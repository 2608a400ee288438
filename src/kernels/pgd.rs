use super::shaders::PGD;
use crate::gpu::{Gpu, Kernel, Tensor};
use serde::{Deserialize, Serialize};

/// The threat model's norm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    Linf,
    L2,
}

/// How `random_start` draws the first iterate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Uniform in the L-inf box of radius eps.
    Box,
    /// Uniform in the L2 ball of radius eps.
    Ball,
    /// Gaussian noise with standard deviation eps (TRADES).
    Gaussian,
}

/// APGD's per-example state, as the shader lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ApgdState {
    pub eta: f32,
    pub best_loss: f32,
    pub best_loss_ckpt: f32,
    pub loss_prev: f32,
    pub increases: u32,
    pub reduced: u32,
    pub _pad: [u32; 2],
}

impl ApgdState {
    /// Before the first evaluation: any loss is an improvement, none counts as an increase, and
    /// the first checkpoint only tests for oscillation (as if eta had just been halved).
    pub fn initial(eta: f32) -> Self {
        ApgdState { eta, best_loss: f32::NEG_INFINITY, best_loss_ckpt: f32::NEG_INFINITY, loss_prev: f32::INFINITY, increases: 0, reduced: 1, _pad: [0; 2] }
    }
}

/// Words (u32) per example in an APGD state tensor.
pub const APGD_STATE_WORDS: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    dim: u32,
    seed: u32,
    window: u32,
    alpha: f32,
    rho: f32,
    _pad: [u32; 2],
}

/// The shader's bindings 1..=13, by name; a launch passes the ones its entry point uses.
#[derive(Default)]
struct Bindings<'a> {
    x: Option<&'a Tensor>,
    x0: Option<&'a Tensor>,
    grad: Option<&'a Tensor>,
    eps: Option<&'a Tensor>,
    step: Option<&'a Tensor>,
    x_prev: Option<&'a Tensor>,
    loss: Option<&'a Tensor>,
    success: Option<&'a Tensor>,
    best_x: Option<&'a Tensor>,
    best_grad: Option<&'a Tensor>,
    best_loss: Option<&'a Tensor>,
    best_success: Option<&'a Tensor>,
    state: Option<&'a Tensor>,
}

impl<'a> Bindings<'a> {
    fn list(&self) -> Vec<&'a Tensor> {
        let all = [
            self.x, self.x0, self.grad, self.eps, self.step, self.x_prev, self.loss, self.success, self.best_x, self.best_grad, self.best_loss, self.best_success, self.state,
        ];
        // Unused bindings are skipped by `Gpu::launch`; any tensor holds their place.
        let filler = all.iter().flatten().next().copied().expect("a launch binds at least one tensor");
        all.iter().map(|t| t.unwrap_or(filler)).collect()
    }
}

fn launch(gpu: &Gpu, entry: &'static str, overrides: &[(&'static str, f64)], p: Params, b: Bindings) {
    assert!(p.batch <= 65_535, "pgd::{entry}: one workgroup per example allows at most 65,535 examples per launch");
    let k = Kernel { shader: &PGD, entry };
    gpu.launch(&k, overrides, &p, &b.list(), [p.batch, 1, 1]);
}

fn norm_code(norm: Norm) -> [(&'static str, f64); 1] {
    [("NORM", if norm == Norm::Linf { 0.0 } else { 1.0 })]
}

fn params(batch: usize, dim: usize) -> Params {
    Params { batch: batch as u32, dim: dim as u32, ..Default::default() }
}

/// x = a random point around x0 (per-example radius `eps`), clamped to [0, 1].
#[allow(clippy::too_many_arguments)]
pub fn random_start(gpu: &Gpu, start: Start, x: &Tensor, x0: &Tensor, eps: &Tensor, seed: u32, batch: usize, dim: usize) {
    let code = match start {
        Start::Box => 0.0,
        Start::Ball => 1.0,
        Start::Gaussian => 2.0,
    };
    let p = Params { seed, ..params(batch, dim) };
    launch(gpu, "random_start", &[("START", code)], p, Bindings { x: Some(x), x0: Some(x0), eps: Some(eps), ..Default::default() });
}

/// x <- P(x + step * direction(grad)), projected onto the eps-ball around x0 and [0, 1].
#[allow(clippy::too_many_arguments)]
pub fn pgd_step(gpu: &Gpu, norm: Norm, x: &Tensor, x0: &Tensor, grad: &Tensor, eps: &Tensor, step: &Tensor, batch: usize, dim: usize) {
    let b = Bindings { x: Some(x), x0: Some(x0), grad: Some(grad), eps: Some(eps), step: Some(step), ..Default::default() };
    launch(gpu, "pgd_step", &norm_code(norm), params(batch, dim), b);
}

/// APGD's momentum step with per-example step sizes from `state`; x_prev <- x.
#[allow(clippy::too_many_arguments)]
pub fn apgd_step(gpu: &Gpu, norm: Norm, x: &Tensor, x_prev: &Tensor, x0: &Tensor, grad: &Tensor, eps: &Tensor, state: &Tensor, alpha: f32, batch: usize, dim: usize) {
    let b = Bindings { x: Some(x), x_prev: Some(x_prev), x0: Some(x0), grad: Some(grad), eps: Some(eps), state: Some(state), ..Default::default() };
    launch(gpu, "apgd_step", &norm_code(norm), Params { alpha, ..params(batch, dim) }, b);
}

/// The per-example worst case so far: x replaces best_x where it succeeds and best_x did not,
/// or succeeds equally with a higher objective.
#[allow(clippy::too_many_arguments)]
pub fn keep_best(gpu: &Gpu, x: &Tensor, loss: &Tensor, success: &Tensor, best_x: &Tensor, best_loss: &Tensor, best_success: &Tensor, batch: usize, dim: usize) {
    let b = Bindings {
        x: Some(x),
        loss: Some(loss),
        success: Some(success),
        best_x: Some(best_x),
        best_loss: Some(best_loss),
        best_success: Some(best_success),
        ..Default::default()
    };
    launch(gpu, "keep_best", &[], params(batch, dim), b);
}

/// APGD's highest-loss point and gradient, and its count of loss increases.
#[allow(clippy::too_many_arguments)]
pub fn keep_max(gpu: &Gpu, x: &Tensor, grad: &Tensor, loss: &Tensor, best_x: &Tensor, best_grad: &Tensor, state: &Tensor, batch: usize, dim: usize) {
    let b = Bindings { x: Some(x), grad: Some(grad), loss: Some(loss), best_x: Some(best_x), best_grad: Some(best_grad), state: Some(state), ..Default::default() };
    launch(gpu, "keep_max", &[], params(batch, dim), b);
}

/// APGD's checkpoint at the end of a window of `window` steps (threshold `rho`).
#[allow(clippy::too_many_arguments)]
pub fn apgd_checkpoint(gpu: &Gpu, x: &Tensor, grad: &Tensor, best_x: &Tensor, best_grad: &Tensor, state: &Tensor, window: usize, rho: f32, batch: usize, dim: usize) {
    let b = Bindings { x: Some(x), grad: Some(grad), best_x: Some(best_x), best_grad: Some(best_grad), state: Some(state), ..Default::default() };
    launch(gpu, "apgd_checkpoint", &[], Params { window: window as u32, rho, ..params(batch, dim) }, b);
}
