//! PGD (and FGSM, its one-step case without random start): per restart, a random start in
//! the eps-ball, then `steps` fused steps; every iterate is offered to the worst-case record.

use super::batch::Batch;
use super::config::AttackConfig;
use super::probe::{probe, Objective, WorstCase};
use crate::gpu::Gpu;
use crate::kernels::{self, Norm, Start};
use crate::nn::Model;

pub fn pgd(gpu: &Gpu, model: &Model, cfg: &AttackConfig, b: &Batch, record: &WorstCase) {
    let (n, dim) = (b.len(), b.dim());
    for r in 0..cfg.restarts {
        let obj = objective(cfg, b, r);
        let x = start(gpu, cfg, b, r);
        for _ in 0..cfg.steps {
            let p = probe(gpu, model, &obj, &x, true);
            record.observe(gpu, &x, &p);
            kernels::pgd_step(gpu, cfg.norm, &x, &b.x0, p.grad.as_ref().unwrap(), &b.eps, &b.step, n, dim);
        }
        record.observe(gpu, &x, &probe(gpu, model, &obj, &x, false));
    }
}

pub(super) fn objective<'a>(cfg: &AttackConfig, b: &'a Batch, restart: usize) -> Objective<'a> {
    let targets = if cfg.targeted {
        assert!(!b.targets.is_empty(), "a targeted attack needs target classes");
        Some(&b.targets[restart % b.targets.len()])
    } else {
        None
    };
    Objective { loss: cfg.loss, labels: &b.labels, targets, reference: None }
}

/// The first iterate of restart `r`: uniform in the ball, or the clean input.
pub(super) fn start(gpu: &Gpu, cfg: &AttackConfig, b: &Batch, r: usize) -> crate::gpu::Tensor {
    let x = gpu.empty(b.x0.shape());
    if cfg.random_start {
        let kind = if cfg.norm == Norm::Linf { Start::Box } else { Start::Ball };
        kernels::random_start(gpu, kind, &x, &b.x0, &b.eps, b.seed(cfg, r), b.len(), b.dim());
    } else {
        gpu.copy(&b.x0, &x);
    }
    x
}
