//! Accuracy of models on corrupted copies of a data set: every corruption at every severity,
//! generated on the GPU chunk by chunk and shared by all the models, so a reference model
//! sees exactly the images the model does.

use super::corrupt;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use crate::reference::common::pcg;

/// Examples corrupted at once. The draws of a corruption depend on the example's index within
/// its chunk and on the chunk (through the seed), so results do not depend on the batch size.
pub const CHUNK: usize = 1024;
/// Examples shown per cell of the image grid.
pub const GRID_EXAMPLES: usize = 3;

#[derive(Clone, Debug)]
pub struct ShiftConfig {
    pub corruptions: Vec<String>,
    pub severities: Vec<u32>,
    pub seed: u32,
    pub batch_size: usize,
}

#[derive(Clone, Debug)]
pub struct ShiftResult {
    /// Per model: clean accuracy.
    pub clean: Vec<f64>,
    /// Per model, per corruption, per severity: accuracy.
    pub accuracy: Vec<Vec<Vec<f64>>>,
    /// The grid's examples: clean, then per corruption and severity, `GRID_EXAMPLES` images
    /// [c, h, w] one after the other.
    pub grid_clean: Vec<f32>,
    pub grid: Vec<Vec<Vec<f32>>>,
}

/// The seed of corruption `c` at `severity` for chunk `chunk`: independent streams per
/// (corruption, severity, chunk).
pub fn chunk_seed(seed: u32, c: usize, severity: u32, chunk: usize) -> u32 {
    pcg(seed ^ pcg(c as u32 ^ pcg(severity ^ pcg(chunk as u32))))
}

/// Per model, the examples it classifies correctly among `x` [n, ...] (written into
/// `correct[m]` from `offset`), in batches.
fn classify(gpu: &Gpu, models: &[&Model], x: &Tensor, labels: &Tensor, correct: &[Tensor], offset: usize, batch: usize) {
    let (n, d) = (x.shape()[0], x.numel() / x.shape()[0].max(1));
    let mut shape = x.shape().to_vec();
    for start in (0..n).step_by(batch) {
        let len = batch.min(n - start);
        shape[0] = len;
        let (xb, yb) = (gpu.empty(&shape), gpu.empty_u32(&[len]));
        gpu.copy_range(x, start * d, &xb, 0, len * d);
        gpu.copy_range(labels, start, &yb, 0, len);
        for (m, model) in models.iter().enumerate() {
            let logits = model.forward(gpu, gpu.duplicate(&xb), None);
            let pred = gpu.empty_u32(&[len]);
            kernels::argmax(gpu, &logits, &yb, &pred, &correct[m], len, model.classes, offset + start);
        }
    }
}

/// Accuracy of each model on `data` clean and under each corruption and severity of `cfg`;
/// the grid keeps `GRID_EXAMPLES` examples spread over the data. `on` hears progress.
pub async fn evaluate_shift(gpu: &Gpu, models: &[&Model], data: &Dataset, cfg: &ShiftConfig, on: &mut dyn FnMut(&str)) -> Result<ShiftResult> {
    let n = data.len();
    let [c, h, w] = data.shape;
    let d = c * h * w;
    let batch = models.iter().try_fold(cfg.batch_size, |b, m| m.fitting_batch(gpu, b))?;
    let grid_at: Vec<usize> = data.spread_indices(GRID_EXAMPLES);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    data.gather(&(0..n as u32).collect::<Vec<_>>(), &mut xs, &mut ys);
    let chunks: Vec<(usize, usize)> = (0..n).step_by(CHUNK).map(|s| (s, CHUNK.min(n - s))).collect();
    let upload = |&(start, len): &(usize, usize)| (gpu.upload(&xs[start * d..(start + len) * d], &[len, c, h, w]), gpu.upload_u32(&ys[start..start + len], &[len]));
    let new_correct = || models.iter().map(|_| gpu.zeros_u32(&[n])).collect::<Vec<_>>();

    let clean = new_correct();
    for chunk in &chunks {
        let (x, y) = upload(chunk);
        classify(gpu, models, &x, &y, &clean, chunk.0, batch);
    }
    let mut outcomes = vec![clean];
    let mut grid_tensors = Vec::new();
    for (ci, name) in cfg.corruptions.iter().enumerate() {
        for &severity in &cfg.severities {
            on(&format!("{name} severity {severity}"));
            let correct = new_correct();
            let grid = gpu.empty(&[grid_at.len() * d]);
            for (k, chunk) in chunks.iter().enumerate() {
                let (x, y) = upload(chunk);
                let xc = corrupt(gpu, name, severity, chunk_seed(cfg.seed, ci, severity, k), &x).await?;
                classify(gpu, models, &xc, &y, &correct, chunk.0, batch);
                for (g, &i) in grid_at.iter().enumerate() {
                    if (chunk.0..chunk.0 + chunk.1).contains(&i) {
                        gpu.copy_range(&xc, (i - chunk.0) * d, &grid, g * d, d);
                    }
                }
            }
            outcomes.push(correct);
            grid_tensors.push(grid);
            // One corruption's work at a time: the next waits for this one's results.
            gpu.flush();
        }
    }
    let all: Vec<&Tensor> = outcomes.iter().flatten().chain(&grid_tensors).collect();
    let bytes = gpu.read_bytes(&all).await?;
    let m = models.len();
    let accuracy_of = |b: &Vec<u8>| bytemuck::pod_collect_to_vec::<u8, u32>(b).iter().map(|&v| v as f64).sum::<f64>() / n.max(1) as f64;
    let accs: Vec<f64> = bytes[..outcomes.len() * m].iter().map(accuracy_of).collect();
    let (s, nc) = (cfg.severities.len(), cfg.corruptions.len());
    // accs is [outcome (clean, then corruption-major, severity-minor)][model].
    let clean = (0..m).map(|mi| accs[mi]).collect();
    let accuracy = (0..m).map(|mi| (0..nc).map(|ci| (0..s).map(|si| accs[(1 + ci * s + si) * m + mi]).collect()).collect()).collect();
    let mut grids = bytes[outcomes.len() * m..].iter().map(|b| bytemuck::pod_collect_to_vec::<u8, f32>(b));
    let grid = (0..nc).map(|_| (0..s).map(|_| grids.next().unwrap_or_default()).collect()).collect();
    let grid_clean = grid_at.iter().flat_map(|&i| xs[i * d..(i + 1) * d].iter().copied()).collect();
    Ok(ShiftResult { clean, accuracy, grid_clean, grid })
}

/// `data` corrupted by `name` at `severity` as a new data set of 8-bit images (as the
/// published MNIST-C and CIFAR-10-C files store them), with the draws `evaluate_shift` makes
/// for corruption number `index` of its list: chunk by chunk from `chunk_seed`. Used as an
/// out-of-distribution set (`aer ood --corrupted`).
pub async fn corrupted_copy(gpu: &Gpu, data: &Dataset, name: &str, index: usize, severity: u32, seed: u32) -> Result<Dataset> {
    let n = data.len();
    let [c, h, w] = data.shape;
    let d = c * h * w;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    data.gather(&(0..n as u32).collect::<Vec<_>>(), &mut xs, &mut ys);
    let mut images = Vec::with_capacity(n * d);
    for (k, start) in (0..n).step_by(CHUNK).enumerate() {
        let len = CHUNK.min(n - start);
        let x = gpu.upload(&xs[start * d..(start + len) * d], &[len, c, h, w]);
        let xc = corrupt(gpu, name, severity, chunk_seed(seed, index, severity, k), &x).await?;
        images.extend(gpu.read_f32(&xc).await?.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8));
    }
    Ok(Dataset { images, labels: data.labels.clone(), shape: data.shape })
}

