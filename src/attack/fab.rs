//! FAB-T under L-inf (Croce & Hein, 2020, "Minimally distorted adversarial examples with a
//! fast adaptive boundary attack"), as AutoAttack's standard run uses it: per target class (the
//! runner-ups by clean logit, one per restart), 100 iterations from the clean input. Each
//! iteration linearises z_t - z_y at the current point x, projects both x and the clean input
//! x0 onto that hyperplane within [0, 1] (the smallest L-inf steps d1 and d2), and moves to the
//! convex combination (x + eta d1)(1 - a) + (x0 + eta d2) a, a = min(|d1| / (|d1| + |d2|),
//! alpha_max), which favours points near x0. A step that lands in another class is kept if it
//! is the closest such point yet, and then pulled back towards x0 by beta to look for a closer
//! one. An example counts as broken when the closest misclassified point is within eps; the
//! next target only runs on the examples not yet broken. Gradients come from the GPU's
//! backward pass; the projections are per-example CPU work.

use super::batch::Batch;
use super::config::AttackConfig;
use super::hyperplane::project_linf;
use super::probe::{probe, Objective, WorstCase};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::kernels::AdvLoss;
use crate::nn::Model;

const ALPHA_MAX: f32 = 0.1;
const ETA: f32 = 1.05;
const BETA: f32 = 0.9;

fn linf(v: impl Iterator<Item = f32>) -> f32 {
    v.fold(0.0, |m, x| m.max(x.abs()))
}

/// FAB-T on one batch into `record`.
pub async fn fab(gpu: &Gpu, model: &Model, cfg: &AttackConfig, b: &Batch, record: &WorstCase) -> Result<()> {
    if b.targets.is_empty() {
        return Err(AerError::Invalid("FAB-T needs target classes (the runner-ups of the clean logits) in its batch".into()));
    }
    let (n, dim) = (b.len(), b.dim());
    let shape = b.x0.shape().to_vec();
    let x0 = gpu.read_f32(&b.x0).await?;
    let labels = gpu.read_u32(&b.labels).await?;
    let untargeted = Objective { loss: AdvLoss::Margin, labels: &b.labels, targets: None, reference: None };
    // Only correctly classified examples are attacked.
    let clean_fooled = gpu.read_u32(&probe(gpu, model, &untargeted, &b.x0, false).success).await?;
    let mut best = x0.clone();
    let mut best_norm = vec![f32::INFINITY; n];
    let (mut d1, mut d2) = (vec![0.0; dim], vec![0.0; dim]);
    for r in 0..cfg.restarts {
        let active: Vec<usize> = (0..n).filter(|&i| clean_fooled[i] == 0 && b.eps_values[i] > 0.0 && best_norm[i] > b.eps_values[i]).collect();
        if active.is_empty() {
            break;
        }
        let m = active.len();
        let rows = |i: usize| i * dim..(i + 1) * dim;
        let targets = gpu.read_u32(&b.targets[r % b.targets.len()]).await?;
        let ys = gpu.upload_u32(&active.iter().map(|&i| labels[i]).collect::<Vec<_>>(), &[m]);
        let ts = gpu.upload_u32(&active.iter().map(|&i| targets[i]).collect::<Vec<_>>(), &[m]);
        let origin: Vec<f32> = active.iter().flat_map(|&i| x0[rows(i)].iter().copied()).collect();
        let mut x = origin.clone();
        let mut batch_shape = shape.clone();
        batch_shape[0] = m;
        let towards = Objective { loss: AdvLoss::Margin, labels: &ys, targets: Some(&ts), reference: None };
        let fooled = Objective { loss: AdvLoss::Margin, labels: &ys, targets: None, reference: None };
        for _ in 0..cfg.steps {
            // phi = z_t - z_y and its gradient g: the boundary is near {z : g.z = g.x - phi}.
            let p = probe(gpu, model, &towards, &gpu.upload(&x, &batch_shape), true);
            let phi = gpu.read_f32(&p.loss).await?;
            let grad = gpu.read_f32(p.grad.as_ref().expect("asked for the gradient")).await?;
            for k in 0..m {
                let (xk, ok, g) = (&mut x[rows(k)], &origin[rows(k)], &grad[rows(k)]);
                let plane = xk.iter().zip(g).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>() as f32 - phi[k];
                project_linf(xk, g, plane, &mut d1);
                project_linf(ok, g, plane, &mut d2);
                let (a1, a2) = (linf(d1.iter().copied()).max(1e-8), linf(d2.iter().copied()).max(1e-8));
                let alpha = (a1 / (a1 + a2)).min(ALPHA_MAX);
                for j in 0..dim {
                    xk[j] = ((xk[j] + ETA * d1[j]) * (1.0 - alpha) + (ok[j] + ETA * d2[j]) * alpha).clamp(0.0, 1.0);
                }
            }
            let crossed = gpu.read_u32(&probe(gpu, model, &fooled, &gpu.upload(&x, &batch_shape), false).success).await?;
            for (k, &i) in active.iter().enumerate() {
                if crossed[k] == 0 {
                    continue;
                }
                let (xk, ok) = (&mut x[rows(k)], &origin[rows(k)]);
                let norm = linf(xk.iter().zip(ok).map(|(a, b)| a - b));
                if norm < best_norm[i] {
                    best_norm[i] = norm;
                    best[rows(i)].copy_from_slice(xk);
                }
                for (a, &b) in xk.iter_mut().zip(ok) {
                    *a = b + (*a - b) * BETA;
                }
            }
        }
    }
    // Only a misclassified point within the radius breaks an example; the rest stay clean.
    let mut out = x0;
    for i in (0..n).filter(|&i| best_norm[i] <= b.eps_values[i]) {
        out[i * dim..(i + 1) * dim].copy_from_slice(&best[i * dim..(i + 1) * dim]);
    }
    let out = gpu.upload(&out, &shape);
    record.observe(gpu, &out, &probe(gpu, model, &untargeted, &out, false));
    Ok(())
}
