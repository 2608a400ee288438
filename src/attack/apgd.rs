//! Auto-PGD (Croce & Hein, 2020): momentum 0.75, step size starting at 2 eps and halved at
//! checkpoints where the loss oscillates or stalls, restarting from the best point found.
//! Checkpoints fall at w_0 = 0, then windows of 0.22 N steps shrinking by 0.03 N down to
//! 0.06 N, as in the reference implementation.

use super::batch::Batch;
use super::config::AttackConfig;
use super::pgd::{objective, start};
use super::probe::{probe, WorstCase};
use crate::gpu::Gpu;
use crate::kernels::{self, ApgdState};
use crate::nn::Model;

const MOMENTUM: f32 = 0.75;
const RHO: f32 = 0.75;

pub fn apgd(gpu: &Gpu, model: &Model, cfg: &AttackConfig, b: &Batch, record: &WorstCase) {
    let (n, dim) = (b.len(), b.dim());
    let steps = cfg.steps;
    let first_window = ((0.22 * steps as f64) as usize).max(1);
    let shrink = ((0.03 * steps as f64) as usize).max(1);
    let min_window = ((0.06 * steps as f64) as usize).max(1);
    for r in 0..cfg.restarts {
        let obj = objective(cfg, b, r);
        let x = start(gpu, cfg, b, r);
        let x_prev = gpu.duplicate(&x);
        let states: Vec<ApgdState> = b.eps_values.iter().map(|&e| ApgdState::initial(2.0 * e)).collect();
        let state = gpu.upload_u32(bytemuck::cast_slice(&states), &[n * kernels::APGD_STATE_WORDS]);
        let (best_x, best_grad) = (gpu.empty(x.shape()), gpu.empty(x.shape()));
        let p = probe(gpu, model, &obj, &x, true);
        let mut grad = p.grad.clone().unwrap();
        record.observe(gpu, &x, &p);
        kernels::keep_max(gpu, &x, &grad, &p.loss, &best_x, &best_grad, &state, n, dim);
        let (mut window, mut since) = (first_window, 0);
        for i in 0..steps {
            let alpha = if i == 0 { 1.0 } else { MOMENTUM };
            kernels::apgd_step(gpu, cfg.norm, &x, &x_prev, &b.x0, &grad, &b.eps, &state, alpha, n, dim);
            let p = probe(gpu, model, &obj, &x, true);
            grad = p.grad.clone().unwrap();
            record.observe(gpu, &x, &p);
            kernels::keep_max(gpu, &x, &grad, &p.loss, &best_x, &best_grad, &state, n, dim);
            since += 1;
            if since == window {
                kernels::apgd_checkpoint(gpu, &x, &grad, &best_x, &best_grad, &state, window, RHO, n, dim);
                since = 0;
                window = window.saturating_sub(shrink).max(min_window);
            }
        }
    }
}
