use super::shaders::LEARNED_MASK;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    seed: u32,
    sample: u32,
    _pad: u32,
    beta: f32,
    gamma: f32,
    zeta: f32,
    l0: f32,
}

/// The hard-concrete distribution's constants (Louizos et al. 2018: beta 2/3, stretched to
/// (-0.1, 1.1)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HardConcrete {
    pub beta: f32,
    pub gamma: f32,
    pub zeta: f32,
}

impl Default for HardConcrete {
    fn default() -> Self {
        HardConcrete { beta: 2.0 / 3.0, gamma: -0.1, zeta: 1.1 }
    }
}

fn launch(gpu: &Gpu, entry: &'static str, p: Params, tensors: &[&Tensor]) {
    let n = p.n as usize;
    assert!(tensors.iter().all(|t| t.numel() == n), "{entry}: tensors differ in size");
    gpu.launch(&Kernel { shader: &LEARNED_MASK, entry }, &[], &p, tensors, grid_1d(n));
}

fn params(n: usize, hc: HardConcrete) -> Params {
    Params { n: n as u32, seed: 0, sample: 0, _pad: 0, beta: hc.beta, gamma: hc.gamma, zeta: hc.zeta, l0: 0.0 }
}

/// HYDRA's straight-through score gradient: `score_grad = grad * w * sign(score)`, where
/// `grad` is the loss gradient with respect to the masked weights.
pub fn score_grad(gpu: &Gpu, w: &Tensor, score: &Tensor, grad: &Tensor, score_grad: &Tensor) {
    launch(gpu, "score_grad", params(w.numel(), HardConcrete::default()), &[w, score, grad, score_grad]);
}

/// Hard-concrete gates from their locations `log_alpha`: a draw from stream `seed`
/// (`Some`) or the test-time gate (`None`) into `gate`, and the gated weights `w * gate`
/// into `w_eff`.
pub fn gate_forward(gpu: &Gpu, hc: HardConcrete, w: &Tensor, log_alpha: &Tensor, seed: Option<u32>, w_eff: &Tensor, gate: &Tensor) {
    let p = Params { seed: seed.unwrap_or(0), sample: seed.is_some() as u32, ..params(w.numel(), hc) };
    launch(gpu, "gate_forward", p, &[w, log_alpha, w_eff, w_eff, gate]);
}

/// The gradients behind gated weights: `w_grad = grad * gate` and the locations'
/// `log_alpha_grad`, including `l0` times the gradient of the expected L0 norm.
#[allow(clippy::too_many_arguments)]
pub fn gate_backward(gpu: &Gpu, hc: HardConcrete, w: &Tensor, log_alpha: &Tensor, grad: &Tensor, gate: &Tensor, l0: f32, w_grad: &Tensor, log_alpha_grad: &Tensor) {
    let p = Params { l0, ..params(w.numel(), hc) };
    launch(gpu, "gate_backward", p, &[w, log_alpha, grad, w_grad, log_alpha_grad, gate]);
}

/// Each gate's probability of being open, P(z != 0), into `out`.
pub fn gate_open_probability(gpu: &Gpu, hc: HardConcrete, log_alpha: &Tensor, out: &Tensor) {
    launch(gpu, "gate_open_probability", params(log_alpha.numel(), hc), &[log_alpha, log_alpha, out, out]);
}
