use super::shaders::SOFTMAX_XENT;
use crate::gpu::{Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    classes: u32,
    offset: u32,
    _pad: [u32; 5],
}

/// Predicted class and correctness per example, into slots offset.. of `pred` and `correct`.
#[allow(clippy::too_many_arguments)]
pub fn argmax(gpu: &Gpu, logits: &Tensor, labels: &Tensor, pred: &Tensor, correct: &Tensor, batch: usize, classes: usize, offset: usize) {
    let k = Kernel { shader: &SOFTMAX_XENT, entry: "argmax" };
    let p = Params { batch: batch as u32, classes: classes as u32, offset: offset as u32, _pad: [0; 5] };
    // softmax_xent.wgsl's bindings: logits, labels, dlogits, loss, correct, adv_correct, pred.
    gpu.launch(&k, &[], &p, &[logits, labels, logits, logits, correct, correct, pred], [batch.div_ceil(64) as u32, 1, 1]);
}
