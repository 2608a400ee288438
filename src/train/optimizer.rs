//! The optimizer's state on the GPU (momentum or Adam moments per parameter) and its step.

use super::config::{OptimizerConfig, OptimizerKind};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdamParams, SgdParams};
use crate::nn::Param;

pub struct Optimizer {
    pub config: OptimizerConfig,
    /// Steps taken so far (Adam's bias correction needs it).
    pub step: u32,
    /// Per parameter: SGD [momentum_buffer], Adam [exp_avg, exp_avg_sq]; none for parameters
    /// the optimizer does not update (`Param::optimized`).
    pub state: Vec<Vec<Tensor>>,
}

impl Optimizer {
    pub fn new(gpu: &Gpu, config: &OptimizerConfig, params: &[Param]) -> Optimizer {
        let state = params
            .iter()
            .map(|p| if p.optimized() { (0..Self::slots(config.kind).len()).map(|_| gpu.zeros(p.value.shape())).collect() } else { Vec::new() })
            .collect();
        Optimizer { config: config.clone(), step: 0, state }
    }

    /// State tensor names, as PyTorch's optimizers call them.
    pub fn slots(kind: OptimizerKind) -> &'static [&'static str] {
        match kind {
            OptimizerKind::Sgd => &["momentum_buffer"],
            OptimizerKind::Adam => &["exp_avg", "exp_avg_sq"],
        }
    }

    /// One update of every parameter from its gradient, at learning rate `lr`.
    pub fn update(&mut self, gpu: &Gpu, params: &[Param], lr: f32) {
        self.step += 1;
        let c = &self.config;
        for (p, s) in params.iter().zip(&self.state).filter(|(p, _)| p.optimized()) {
            match c.kind {
                OptimizerKind::Sgd => {
                    let sp = SgdParams { lr, momentum: c.momentum, weight_decay: c.weight_decay, nesterov: c.nesterov };
                    kernels::sgd(gpu, &p.value, &p.grad, &s[0], &sp);
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
                    kernels::adam(gpu, &p.value, &p.grad, &s[0], &s[1], &ap);
                }
            }
        }
    }
}
