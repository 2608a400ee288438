//! One training epoch, entirely on the GPU: per batch an upload, forward, fused loss,
//! backward and update are recorded and submitted; per-example losses and hits land in
//! epoch-long buffers that are read back once at the end.

use super::config::TrainConfig;
use super::optimizer::Optimizer;
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
}

/// Train `model` for epoch `epoch` (0-based) of `cfg`. `progress(done, total)` is called
/// after each batch has finished on the GPU.
pub async fn train_epoch(
    gpu: &Gpu,
    model: &Model,
    opt: &mut Optimizer,
    data: &Dataset,
    cfg: &TrainConfig,
    epoch: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<EpochStats> {
    let n = data.len();
    let bs = cfg.batch_size.max(1);
    let batches = n.div_ceil(bs);
    let total_steps = batches * cfg.epochs;
    let order = data.epoch_order(cfg.seed, epoch);
    let loss = gpu.empty(&[n]);
    let correct = gpu.empty_u32(&[n]);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut in_flight = VecDeque::new();
    let [c, h, w] = data.shape;
    for b in 0..batches {
        let idx = &order[b * bs..((b + 1) * bs).min(n)];
        let m = idx.len();
        data.gather(idx, &mut xs, &mut ys);
        let x = gpu.upload(&xs, &[m, c, h, w]);
        let y = gpu.upload_u32(&ys, &[m]);
        let mut tape = model.tape();
        let logits = model.forward(gpu, x, Some(&mut tape));
        let dlogits = gpu.empty(logits.shape());
        kernels::softmax_xent(gpu, &logits, &y, &dlogits, &loss, &correct, m, model.classes, b * bs);
        model.backward(gpu, tape, dlogits, false);
        opt.update(gpu, &model.params, cfg.lr_at(epoch * batches + b, total_steps));
        in_flight.push_back(gpu.marker());
        if in_flight.len() > IN_FLIGHT {
            gpu.reached(in_flight.pop_front().unwrap()).await?;
            progress(b + 1 - IN_FLIGHT, batches);
        }
    }
    let bytes = gpu.read_bytes(&[&loss, &correct]).await?;
    progress(batches, batches);
    let losses: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[0]);
    let hits: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
    Ok(EpochStats {
        loss: losses.iter().map(|&l| l as f64).sum::<f64>() / n.max(1) as f64,
        accuracy: hits.iter().map(|&h| h as f64).sum::<f64>() / n.max(1) as f64,
        steps: batches,
    })
}
