//! Accuracy of a model on a data set: forward passes only, one readback at the end. The
//! batching (as many examples per pass as fit the adapter's binding) is shared with whatever
//! else reads a model's outputs over a whole data set (`forward_batches`).

use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;

#[derive(Clone, Debug)]
pub struct Evaluation {
    pub accuracy: f64,
    pub predictions: Vec<u32>,
    pub correct: Vec<u32>,
}

pub async fn evaluate(gpu: &Gpu, model: &Model, data: &Dataset, batch_size: usize) -> Result<Evaluation> {
    let n = data.len();
    let pred = gpu.empty_u32(&[n]);
    let correct = gpu.empty_u32(&[n]);
    forward_batches(gpu, model, data, batch_size, &mut |x, _| x, &mut |offset, y, logits| {
        kernels::argmax(gpu, &logits, y, &pred, &correct, y.numel(), model.classes, offset);
    })?;
    let bytes = gpu.read_bytes(&[&pred, &correct]).await?;
    let predictions: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[0]);
    let correct: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
    let accuracy = correct.iter().map(|&c| c as f64).sum::<f64>() / n.max(1) as f64;
    Ok(Evaluation { accuracy, predictions, correct })
}

/// Forward passes over all of `data` in order, in batches of `batch_size` or as many as fit
/// this adapter's storage binding: `input(images, offset)` may replace a batch's images
/// before the model sees them (test-time augmentation), then `each(offset, labels, logits)`
/// gets the batch's labels and logits. Records work only; nothing waits.
pub fn forward_batches(
    gpu: &Gpu,
    model: &Model,
    data: &Dataset,
    batch_size: usize,
    input: &mut dyn FnMut(Tensor, usize) -> Tensor,
    each: &mut dyn FnMut(usize, &Tensor, Tensor),
) -> Result<()> {
    let bs = model.fitting_batch(gpu, batch_size)?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let [c, h, w] = data.shape;
    let all: Vec<u32> = (0..data.len() as u32).collect();
    for (b, idx) in all.chunks(bs).enumerate() {
        data.gather(idx, &mut xs, &mut ys);
        let x = input(gpu.upload(&xs, &[idx.len(), c, h, w]), b * bs);
        let y = gpu.upload_u32(&ys, &[idx.len()]);
        let logits = model.forward(gpu, x, None);
        each(b * bs, &y, logits);
    }
    Ok(())
}
