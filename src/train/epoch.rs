//! One training epoch, entirely on the GPU: per batch an upload, forward, fused loss,
//! backward and update are recorded and submitted; per-example losses and hits land in
//! epoch-long buffers that are read back once at the end.

use super::adversarial::{craft, AdvMethod, AdvTrainConfig};
use super::certified::{certified_gradients, CertifiedSlots};
use super::config::TrainConfig;
use crate::attack::Batch;
use rand::{Rng, SeedableRng};
use super::learner::Learner;
use crate::data::Dataset;
use crate::error::Result;
use crate::faults::WeightPerturbation;
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use std::collections::VecDeque;

/// Batches allowed in flight before the loop waits for the oldest (no readback involved).
const IN_FLIGHT: usize = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    pub loss: f64,
    pub accuracy: f64,
    pub steps: usize,
    /// Adversarial training: accuracy on the adversarial examples of the attacked examples,
    /// and per class (robust, attacked).
    pub robust_accuracy: Option<f64>,
    pub robust_by_class: Option<Vec<(usize, usize)>>,
    /// Certified training: the mean bound loss, and the share of examples verified at their
    /// step's radius.
    pub bound_loss: Option<f64>,
    pub verified_accuracy: Option<f64>,
}

/// Train `model` for epoch `epoch` (0-based) of `cfg`; `opt` takes each step (the optimizer,
/// or a learned mask). `progress(done, total)` is called after each batch has finished on
/// the GPU. With adversarial training, `class_shares` gives
/// each class's fraction of adversarial examples (see `AdvTrainConfig::class_shares`).
#[allow(clippy::too_many_arguments)]
pub async fn train_epoch(
    gpu: &Gpu,
    model: &Model,
    opt: &mut dyn Learner,
    data: &Dataset,
    cfg: &TrainConfig,
    epoch: usize,
    class_shares: &[f32],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EpochStats> {
    let n = data.len();
    let bs = cfg.batch_size.max(1);
    let batches = n.div_ceil(bs);
    let total_steps = batches * cfg.epochs;
    let order = data.epoch_order(cfg.seed, epoch);
    let loss = gpu.empty(&[n]);
    let correct = gpu.empty_u32(&[n]);
    // Per example: correct on its training attack's example (TRADES: the adversarial half).
    let adv_correct = gpu.empty_u32(&[n]);
    // Certified training: the bound loss and verification per example.
    let (bound_loss, verified) = match cfg.certify {
        Some(_) => (gpu.empty(&[n]), gpu.empty_u32(&[n])),
        None => (gpu.empty(&[1]), gpu.empty_u32(&[1])),
    };
    let slots = EpochSlots { loss: &loss, correct: &correct, adv_correct: &adv_correct, bound_loss: &bound_loss, verified: &verified };
    let mut attacked = vec![false; n];
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed ^ 0xad5e_1ec7 ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut in_flight = VecDeque::new();
    let [c, h, w] = data.shape;
    for b in 0..batches {
        let idx = &order[b * bs..((b + 1) * bs).min(n)];
        let m = idx.len();
        data.gather(idx, &mut xs, &mut ys);
        let x = gpu.upload(&xs, &[m, c, h, w]);
        let y = gpu.upload_u32(&ys, &[m]);
        let step = epoch * batches + b;
        if let (Some(r), Some(q)) = (&cfg.relax, &model.quant) {
            q.set_relaxation(r.lambda_at(step, total_steps, batches), r.channel_sparsity);
        }
        opt.prepare(gpu, model, step);
        // Dynamic sparse training's mask updates read the dense gradient (RigL).
        let dynamic = cfg.dynamic.as_ref();
        if dynamic.is_some_and(|d| d.wants_dense_gradients(step, total_steps)) {
            model.dense_gradients.set(true);
        }
        let adv_batch = cfg.adv.as_ref().map(|a| {
            let eps = a.eps_at(epoch, b, batches);
            let step = match a.method {
                AdvMethod::Fgsm => 1.25 * eps,
                _ if a.eps > 0.0 => a.step * eps / a.eps,
                _ => a.step,
            };
            let (mut eps_v, mut step_v) = (Vec::with_capacity(m), Vec::with_capacity(m));
            for (k, &label) in ys.iter().enumerate() {
                let chosen = rng.random::<f32>() < class_shares[label as usize];
                attacked[b * bs + k] = chosen;
                eps_v.push(if chosen { eps } else { 0.0 });
                step_v.push(if chosen { step } else { 0.0 });
            }
            let salt = crate::reference::common::pcg((cfg.seed as u32) ^ ((epoch * batches + b) as u32).wrapping_mul(0x9e37_79b9)) as u64;
            (a, Batch::with_radii(gpu, x.clone(), y.clone(), eps_v, step_v, salt))
        });
        let what = BatchLoss { x: &x, y: &y, adv: adv_batch.as_ref().map(|(a, b)| (*a, b)), certify: cfg.certify.as_ref().map(|cc| cc.at(epoch, b, batches)) };
        batch_gradients(gpu, model, &what, &slots, b * bs);
        // Corruption-resistant training: the step's gradient is taken at weights moved
        // against it, within rho of each layer's norm.
        if let Some(wp) = &cfg.weight_perturb {
            let moved = WeightPerturbation::along_gradient(gpu, model, wp.rho);
            batch_gradients(gpu, model, &what, &slots, b * bs);
            moved.restore(gpu, model);
        }
        if let Some(d) = dynamic {
            let o = opt.optimizer().ok_or_else(|| crate::AerError::Invalid("dynamic sparse training needs the plain optimizer, not a learned mask".into()))?;
            d.step(gpu, model, o, step, total_steps, cfg.seed).await?;
            model.dense_gradients.set(false);
        }
        opt.step(gpu, model, cfg.lr_at(step, total_steps));
        model.weights_changed(gpu);
        in_flight.push_back(gpu.marker());
        if in_flight.len() > IN_FLIGHT {
            gpu.reached(in_flight.pop_front().unwrap()).await?;
            progress(b + 1 - IN_FLIGHT, batches);
        }
    }
    opt.finish(gpu, model);
    // Evaluation and checkpoints see the exact ternary projection.
    if let (Some(_), Some(q)) = (&cfg.relax, &model.quant) {
        q.set_relaxation(None, 0.0);
    }
    let trades = cfg.adv.as_ref().is_some_and(|a| a.method == AdvMethod::Trades);
    // One readback: losses and hits, then TRADES' adversarial hits, then certified training's
    // bound losses and verifications.
    let mut wanted = vec![&loss, &correct];
    if trades {
        wanted.push(&adv_correct);
    }
    if cfg.certify.is_some() {
        wanted.extend([&bound_loss, &verified]);
    }
    let bytes = gpu.read_bytes(&wanted).await?;
    progress(batches, batches);
    let losses: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[0]);
    let hits: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
    // Without TRADES the training examples are the adversarial ones, so `correct` is it.
    let adv_hits: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[if trades { 2 } else { 1 }]);
    let (bound_loss, verified_accuracy) = match cfg.certify {
        Some(_) => {
            let at = if trades { 3 } else { 2 };
            let l: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[at]);
            let v: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[at + 1]);
            (Some(mean(l.iter().map(|&x| x as f64), n)), Some(mean(v.iter().map(|&x| x as f64), n)))
        }
        None => (None, None),
    };
    let (robust_accuracy, robust_by_class) = if cfg.adv.is_some() {
        let mut by_class = vec![(0usize, 0usize); model.classes];
        for i in (0..n).filter(|&i| attacked[i]) {
            let c = &mut by_class[data.labels[order[i] as usize] as usize];
            c.0 += adv_hits[i] as usize;
            c.1 += 1;
        }
        let (r, t) = by_class.iter().fold((0, 0), |(r, t), c| (r + c.0, t + c.1));
        (Some(r as f64 / t.max(1) as f64), Some(by_class))
    } else {
        (None, None)
    };
    Ok(EpochStats {
        loss: mean(losses.iter().map(|&l| l as f64), n),
        accuracy: mean(hits.iter().map(|&h| h as f64), n),
        steps: batches,
        robust_accuracy,
        robust_by_class,
        bound_loss,
        verified_accuracy,
    })
}

/// The per-example outputs of an epoch's batches: example i of a batch at `offset + i`.
struct EpochSlots<'a> {
    loss: &'a Tensor,
    correct: &'a Tensor,
    /// TRADES: correct on the adversarial example.
    adv_correct: &'a Tensor,
    /// Certified training.
    bound_loss: &'a Tensor,
    verified: &'a Tensor,
}

/// What one batch trains on: (x, y) with a clean loss, an adversarial one (the training
/// attack's settings and its batch) or a certified one (eps, kappa).
struct BatchLoss<'a> {
    x: &'a Tensor,
    y: &'a Tensor,
    adv: Option<(&'a AdvTrainConfig, &'a Batch)>,
    certify: Option<(f32, f32)>,
}

/// Write every parameter's gradient of the batch's loss, and its per-example outputs.
fn batch_gradients(gpu: &Gpu, model: &Model, l: &BatchLoss, s: &EpochSlots, offset: usize) {
    let (m, classes) = (l.x.shape()[0], model.classes);
    if let Some((eps, kappa)) = l.certify {
        let slots = CertifiedSlots { loss: s.loss, correct: s.correct, bound_loss: s.bound_loss, verified: s.verified, offset };
        return certified_gradients(gpu, model, l.x, l.y, eps, kappa, &slots);
    }
    let mut tape = model.tape();
    let dlogits = match l.adv {
        None => {
            let logits = model.forward(gpu, l.x.clone(), Some(&mut tape));
            let dlogits = gpu.empty(logits.shape());
            kernels::softmax_xent(gpu, &logits, l.y, &dlogits, s.loss, s.correct, m, classes, offset);
            dlogits
        }
        Some((a, batch)) if a.method == AdvMethod::Trades => {
            let clean_logits = model.forward(gpu, l.x.clone(), None);
            let x_adv = craft(gpu, model, a, batch, Some(&clean_logits));
            let mut shape = l.x.shape().to_vec();
            shape[0] *= 2;
            let both = gpu.empty(&shape);
            gpu.copy_range(l.x, 0, &both, 0, l.x.numel());
            gpu.copy_range(&x_adv, 0, &both, l.x.numel(), l.x.numel());
            let logits = model.forward(gpu, both, Some(&mut tape));
            let dlogits = gpu.empty(logits.shape());
            kernels::trades_xent(gpu, &logits, l.y, &dlogits, s.loss, s.correct, s.adv_correct, a.beta, m, classes, offset);
            dlogits
        }
        Some((a, batch)) => {
            let x_adv = craft(gpu, model, a, batch, None);
            let logits = model.forward(gpu, x_adv, Some(&mut tape));
            let dlogits = gpu.empty(logits.shape());
            kernels::softmax_xent(gpu, &logits, l.y, &dlogits, s.loss, s.correct, m, classes, offset);
            dlogits
        }
    };
    model.backward(gpu, tape, dlogits, false);
}

fn mean(v: impl Iterator<Item = f64>, n: usize) -> f64 {
    v.sum::<f64>() / n.max(1) as f64
}
