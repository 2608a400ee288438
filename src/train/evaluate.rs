//! Accuracy of a model on a data set: forward passes only, one readback at the end.

use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
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
    let bs = model.fitting_batch(gpu, batch_size)?;
    let pred = gpu.empty_u32(&[n]);
    let correct = gpu.empty_u32(&[n]);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let [c, h, w] = data.shape;
    let all: Vec<u32> = (0..n as u32).collect();
    for (b, idx) in all.chunks(bs).enumerate() {
        data.gather(idx, &mut xs, &mut ys);
        let x = gpu.upload(&xs, &[idx.len(), c, h, w]);
        let y = gpu.upload_u32(&ys, &[idx.len()]);
        let logits = model.forward(gpu, x, None);
        kernels::argmax(gpu, &logits, &y, &pred, &correct, idx.len(), model.classes, b * bs);
    }
    let bytes = gpu.read_bytes(&[&pred, &correct]).await?;
    let predictions: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[0]);
    let correct: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
    let accuracy = correct.iter().map(|&c| c as f64).sum::<f64>() / n.max(1) as f64;
    Ok(Evaluation { accuracy, predictions, correct })
}
