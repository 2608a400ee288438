//! One training epoch, entirely on the GPU: per batch an upload, forward, fused loss,
//! backward and update are recorded and submitted; per-example losses and hits land in
//! epoch-long buffers that are read back once at the end. The training methods' epoch hooks
//! (`super::method`) run at their points of each step.

use super::config::TrainConfig;
use super::learner::Learner;
use super::method::{BatchCtx, EpochEnd, EpochStart, Method, Step};
use super::EpochRecord;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
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
/// or a learned mask), and `methods` (built from `cfg` by `crate::methods::REGISTRY`) change
/// the steps: their loss, their gradients, their masks. `history` holds the run's finished
/// epochs (empty outside a run). `progress(done, total)` is called after each batch has
/// finished on the GPU.
#[allow(clippy::too_many_arguments)]
pub async fn train_epoch(
    gpu: &Gpu,
    model: &Model,
    opt: &mut dyn Learner,
    data: &Dataset,
    cfg: &TrainConfig,
    epoch: usize,
    methods: &mut [Box<dyn Method>],
    history: &[EpochRecord],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EpochStats> {
    let n = data.len();
    let bs = cfg.batch_size.max(1);
    model.check_batch(gpu, bs.min(n), &format!("batch size {bs}"))?;
    let batches = n.div_ceil(bs);
    let total = batches * cfg.epochs;
    let order = data.epoch_order(cfg.seed, epoch);
    let loss = gpu.empty(&[n]);
    let correct = gpu.empty_u32(&[n]);
    let start = EpochStart { gpu, data, epoch, batches, classes: model.classes, seed: cfg.seed, history };
    for m in methods.iter_mut() {
        m.begin_epoch(&start);
    }
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut in_flight = VecDeque::new();
    let [c, h, w] = data.shape;
    for b in 0..batches {
        let idx = &order[b * bs..((b + 1) * bs).min(n)];
        let m = idx.len();
        data.gather(idx, &mut xs, &mut ys);
        let step = Step { epoch, batch: b, batches, step: epoch * batches + b, total, seed: cfg.seed };
        // A method may put examples of its own into the batch (watermark triggers).
        for method in methods.iter_mut() {
            method.batch_examples(&mut xs, &mut ys, &step);
        }
        let mut x = gpu.upload(&xs, &[m, c, h, w]);
        let y = gpu.upload_u32(&ys, &[m]);
        // A method may replace what the step trains on (data augmentation).
        for method in methods.iter_mut() {
            if let Some(input) = method.batch_input(gpu, &x, &step) {
                x = input;
            }
        }
        for method in methods.iter_mut() {
            method.before_step(gpu, model, &step);
        }
        opt.prepare(gpu, model, step.step);
        let batch = BatchCtx { x: &x, y: &y, labels: &ys, step, offset: b * bs, loss: &loss, correct: &correct };
        for method in methods.iter_mut() {
            method.prepare_batch(gpu, &batch);
        }
        // Training mode for the step's passes: dropout draws its masks from the step, so a
        // resumed run drops what the uninterrupted one would.
        model.training.set(Some(crate::reference::common::pcg((cfg.seed as u32) ^ (step.step as u32).wrapping_mul(0x85eb_ca6b))));
        batch_gradients(gpu, model, methods, &batch);
        // A method may take the step's gradient at other weights (weight perturbation).
        for i in 0..methods.len() {
            if let Some(restore) = methods[i].gradient_at(gpu, model) {
                batch_gradients(gpu, model, methods, &batch);
                restore(gpu, model);
            }
        }
        model.training.set(None);
        for method in methods.iter_mut() {
            method.after_gradients(gpu, model, &*opt, step).await?;
        }
        opt.step(gpu, model, cfg.lr_at(step.step, total));
        model.weights_changed(gpu);
        in_flight.push_back(gpu.marker());
        if in_flight.len() > IN_FLIGHT {
            gpu.reached(in_flight.pop_front().unwrap()).await?;
            progress(b + 1 - IN_FLIGHT, batches);
        }
    }
    opt.finish(gpu, model);
    for method in methods.iter_mut() {
        method.finish_epoch(gpu, model);
    }
    let bytes = gpu.read_bytes(&[&loss, &correct]).await?;
    progress(batches, batches);
    let losses: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[0]);
    let hits: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
    let mut stats = EpochStats {
        loss: mean(losses.iter().map(|&l| l as f64), n),
        accuracy: mean(hits.iter().map(|&h| h as f64), n),
        steps: batches,
        robust_accuracy: None,
        robust_by_class: None,
        bound_loss: None,
        verified_accuracy: None,
    };
    let end = EpochEnd { gpu, data, classes: model.classes, order: &order, hits: &hits };
    for method in methods.iter_mut() {
        method.end_epoch(&end, &mut stats).await?;
    }
    Ok(stats)
}

/// Write every parameter's gradient of the batch's loss, and its per-example outputs: the
/// first method's loss that takes the batch (adversarial, certified), else the clean one.
fn batch_gradients(gpu: &Gpu, model: &Model, methods: &mut [Box<dyn Method>], b: &BatchCtx) {
    if methods.iter_mut().any(|m| m.batch_gradients(gpu, model, b)) {
        return;
    }
    let (m, classes) = (b.x.shape()[0], model.classes);
    let mut tape = model.tape();
    let logits = model.forward(gpu, b.x.clone(), Some(&mut tape));
    let dlogits = gpu.empty(logits.shape());
    kernels::softmax_xent(gpu, &logits, b.y, &dlogits, b.loss, b.correct, m, classes, b.offset);
    model.backward(gpu, tape, dlogits, false);
}

fn mean(v: impl Iterator<Item = f64>, n: usize) -> f64 {
    v.sum::<f64>() / n.max(1) as f64
}
