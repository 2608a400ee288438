//! The optimizer's state on the GPU (momentum or Adam moments per parameter) and its step.

use super::config::{OptimizerConfig, OptimizerKind};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdamParams, SgdParams};
use crate::nn::{flat, Param};

pub struct Optimizer {
    pub config: OptimizerConfig,
    /// Steps taken so far (Adam's bias correction needs it).
    pub step: u32,
    /// Per parameter: SGD [momentum_buffer], Adam [exp_avg, exp_avg_sq]; none for parameters
    /// the optimizer does not update (`Param::optimized`).
    pub state: Vec<Vec<Tensor>>,
    /// With the parameters packed (`crate::nn::flat`): the state as the same slices of one
    /// buffer per slot, for one launch over all parameters.
    packed: Option<Vec<Tensor>>,
}

impl Optimizer {
    pub fn new(gpu: &Gpu, config: &OptimizerConfig, params: &[Param]) -> Optimizer {
        let slots = Self::slots(config.kind).len();
        // Packed parameters get their state packed alike: slices of one buffer per slot.
        let packed = flat::packed(params).map(|(values, _)| (0..slots).map(|_| gpu.zeros(values.shape())).collect::<Vec<_>>());
        let state = params
            .iter()
            .map(|p| match (&packed, p.optimized()) {
                (_, false) => Vec::new(),
                (Some(bufs), true) => bufs.iter().map(|b| b.view(p.value.offset() as usize / 4, p.value.shape())).collect(),
                (None, true) => (0..slots).map(|_| gpu.zeros(p.value.shape())).collect(),
            })
            .collect();
        Optimizer { config: config.clone(), step: 0, state, packed }
    }

    /// State tensor names, as PyTorch's optimizers call them.
    pub fn slots(kind: OptimizerKind) -> &'static [&'static str] {
        match kind {
            OptimizerKind::Sgd => &["momentum_buffer"],
            OptimizerKind::Adam => &["exp_avg", "exp_avg_sq"],
        }
    }

    /// One update of every parameter from its gradient, at learning rate `lr`.
    /// The update is elementwise, so over packed parameters it is one launch over their
    /// buffers (zeros between the slices stay zero: no gradient, no moments, no decay);
    /// otherwise one launch per parameter.
    pub fn update(&mut self, gpu: &Gpu, params: &[Param], lr: f32) {
        self.step += 1;
        // Still packed as when the state was made (a parameter may have been replaced since).
        let packed = self.packed.as_ref().zip(flat::packed(params)).filter(|(state, (values, _))| state[0].numel() == values.numel() && self.state_matches(params, state));
        if let Some((state, (values, grads))) = packed {
            self.update_one(gpu, &values, &grads, state, lr);
            return;
        }
        for (p, s) in params.iter().zip(&self.state).filter(|(p, _)| p.optimized()) {
            self.update_one(gpu, &p.value, &p.grad, s, lr);
        }
    }

    /// Every optimized parameter's state is the slice of the packed state at its own offset.
    fn state_matches(&self, params: &[Param], packed: &[Tensor]) -> bool {
        let slice_of = |t: &Tensor, b: &Tensor, p: &Param| t.is_view() && t.same_buffer(b) && t.offset() == p.value.offset();
        params.iter().zip(&self.state).filter(|(p, _)| p.optimized()).all(|(p, s)| s.len() == packed.len() && s.iter().zip(packed).all(|(t, b)| slice_of(t, b, p)))
    }

    fn update_one(&self, gpu: &Gpu, w: &Tensor, g: &Tensor, s: &[Tensor], lr: f32) {
        let c = &self.config;
        match c.kind {
            OptimizerKind::Sgd => {
                let sp = SgdParams { lr, momentum: c.momentum, weight_decay: c.weight_decay, nesterov: c.nesterov };
                kernels::sgd(gpu, w, g, &s[0], &sp);
            }
            OptimizerKind::Adam => {
                let ap = AdamParams {
                    lr,
                    beta1: c.beta1,
                    beta2: c.beta2,
                    eps: c.eps,
                    weight_decay: c.weight_decay,
                    decoupled: c.decoupled,
                    step: self.step,
                };
                kernels::adam(gpu, w, g, &s[0], &s[1], &ap);
            }
        }
    }
}
