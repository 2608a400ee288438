use super::shaders::SOFTMAX_XENT;
use crate::gpu::{Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    classes: u32,
    offset: u32,
    scale: f32,
    beta: f32,
    _pad: [u32; 3],
}

/// Per-example loss and correctness into slots offset.. of `loss` and `correct`, and the
/// gradient of the mean loss over the batch into `dlogits`.
#[allow(clippy::too_many_arguments)]
pub fn softmax_xent(gpu: &Gpu, logits: &Tensor, labels: &Tensor, dlogits: &Tensor, loss: &Tensor, correct: &Tensor, batch: usize, classes: usize, offset: usize) {
    softmax_xent_weighted(gpu, logits, labels, dlogits, loss, correct, batch, classes, offset, 1.0);
}

/// `softmax_xent` for one term of a weighted loss: the gradient is of `weight` times the
/// batch mean (the per-example losses stay unweighted).
#[allow(clippy::too_many_arguments)]
pub fn softmax_xent_weighted(gpu: &Gpu, logits: &Tensor, labels: &Tensor, dlogits: &Tensor, loss: &Tensor, correct: &Tensor, batch: usize, classes: usize, offset: usize, weight: f32) {
    let k = Kernel { shader: &SOFTMAX_XENT, entry: "softmax_xent" };
    let p = Params { batch: batch as u32, classes: classes as u32, offset: offset as u32, scale: weight / batch as f32, beta: 0.0, _pad: [0; 3] };
    gpu.launch(&k, &[], &p, &[logits, labels, dlogits, loss, correct], [batch.div_ceil(64) as u32, 1, 1]);
}

/// Predicted class and correctness per example, into slots offset.. of `pred` and `correct`.
#[allow(clippy::too_many_arguments)]
pub fn argmax(gpu: &Gpu, logits: &Tensor, labels: &Tensor, pred: &Tensor, correct: &Tensor, batch: usize, classes: usize, offset: usize) {
    let k = Kernel { shader: &SOFTMAX_XENT, entry: "argmax" };
    let p = Params { batch: batch as u32, classes: classes as u32, offset: offset as u32, scale: 0.0, beta: 0.0, _pad: [0; 3] };
    // Bindings: logits, labels, dlogits, loss, correct, adv_correct, pred (unused ones skipped).
    gpu.launch(&k, &[], &p, &[logits, labels, logits, logits, correct, correct, pred], [batch.div_ceil(64) as u32, 1, 1]);
}

/// TRADES loss over logits [2 batch, classes] (clean rows, then their adversarial rows):
/// per-example CE(clean) + beta KL(clean || adv) into `loss`, both predictions' correctness,
/// and the gradient of the batch mean into both halves of `dlogits`.
#[allow(clippy::too_many_arguments)]
pub fn trades_xent(gpu: &Gpu, logits: &Tensor, labels: &Tensor, dlogits: &Tensor, loss: &Tensor, correct: &Tensor, adv_correct: &Tensor, beta: f32, batch: usize, classes: usize, offset: usize) {
    let k = Kernel { shader: &SOFTMAX_XENT, entry: "trades_xent" };
    let p = Params { batch: batch as u32, classes: classes as u32, offset: offset as u32, scale: 1.0 / batch as f32, beta, _pad: [0; 3] };
    gpu.launch(&k, &[], &p, &[logits, labels, dlogits, loss, correct, adv_correct], [batch.div_ceil(64) as u32, 1, 1]);
}
