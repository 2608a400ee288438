use super::shaders::ACCURACY;
use crate::gpu::{Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    classes: u32,
    offset: u32,
    _pad: u32,
}

/// Predicted class and correctness per example, into slots offset.. of `pred` and `correct`.
pub fn argmax(gpu: &Gpu, logits: &Tensor, labels: &Tensor, pred: &Tensor, correct: &Tensor, batch: usize, classes: usize, offset: usize) {
    let k = Kernel { shader: &ACCURACY, entry: "argmax" };
    let p = Params { batch: batch as u32, classes: classes as u32, offset: offset as u32, _pad: 0 };
    gpu.launch(&k, &[], &p, &[logits, labels, pred, correct], [batch.div_ceil(64) as u32, 1, 1]);
}
