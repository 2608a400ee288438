//! Benchmark entries: dense matmul and one full training step of a model.

use super::{time_async, EntryResult};
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{self, MatmulForm};
use crate::nn::{Model, ModelSpec};
use crate::train::{Optimizer, OptimizerConfig};
use rand::{Rng, SeedableRng};

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn result(id: String, t: super::Timing, flops: f64, bytes: f64) -> EntryResult {
    let s = t.median_ms / 1e3;
    EntryResult {
        id,
        status: "ok".into(),
        median_ms: t.median_ms,
        min_ms: t.min_ms,
        max_ms: t.max_ms,
        runs: t.runs,
        gflops: (flops > 0.0).then(|| flops / s / 1e9),
        gbytes_per_s: (bytes > 0.0).then(|| bytes / s / 1e9),
        timing: "wall clock around submit-and-wait".into(),
    }
}

fn failed(id: String, why: String) -> EntryResult {
    EntryResult { id, status: why, median_ms: 0.0, min_ms: 0.0, max_ms: 0.0, runs: 0, gflops: None, gbytes_per_s: None, timing: String::new() }
}

/// `matmul/f32/{n}`: C = A B for square n x n matrices.
pub async fn matmul_entry(gpu: &Gpu, n: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("matmul/f32/{n}");
    let (a, b) = (random(n * n, 1), random(n * n, 2));
    let (ga, gb, gc) = (gpu.upload(&a, &[n, n]), gpu.upload(&b, &[n, n]), gpu.empty(&[n, n]));
    kernels::matmul(gpu, MatmulForm::NN, &ga, &gb, &gc, n, n, n, false);
    let got = gpu.read_f32(&gc).await?;
    // Check a sample of rows against the reference (a full CPU product at 1024 is slow).
    let rows = [0, n / 3, n - 1];
    for &r in &rows {
        let mut want = vec![0f32; n];
        crate::reference::matmul(MatmulForm::NN, &a[r * n..(r + 1) * n], &b, &mut want, 1, n, n, false);
        let tol = 1e-4 * (n as f32).sqrt() * 4.0;
        if let Some(j) = (0..n).find(|&j| (got[r * n + j] - want[j]).abs() > tol) {
            return Ok(failed(id, format!("wrong result at ({r}, {j}): {} vs {}", got[r * n + j], want[j])));
        }
    }
    let t = time_async(gpu, 2, runs, || kernels::matmul(gpu, MatmulForm::NN, &ga, &gb, &gc, n, n, n, false)).await?;
    Ok(result(id, t, 2.0 * (n * n * n) as f64, 3.0 * (n * n * 4) as f64))
}

/// `train_step/{model}/b{batch}`: forward, loss, backward and an Adam update on a random
/// batch of MNIST-shaped data.
pub async fn train_step_entry(gpu: &Gpu, model: &str, batch: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("train_step/{model}/b{batch}");
    let spec = ModelSpec::load(model)?;
    let m = Model::new(gpu, &spec, [1, 28, 28], 10, 0)?;
    let mut opt = Optimizer::new(gpu, &OptimizerConfig::default(), &m.params);
    let data = Dataset {
        images: random(batch * 784, 3).iter().map(|v| ((v + 1.0) * 127.0) as u8).collect(),
        labels: (0..batch).map(|i| (i % 10) as u8).collect(),
        shape: [1, 28, 28],
    };
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let idx: Vec<u32> = (0..batch as u32).collect();
    data.gather(&idx, &mut xs, &mut ys);
    let x = gpu.upload(&xs, &[batch, 1, 28, 28]);
    let y = gpu.upload_u32(&ys, &[batch]);
    let loss = gpu.empty(&[batch]);
    let correct = gpu.empty_u32(&[batch]);
    let mut step = || {
        let mut tape = m.tape();
        let logits = m.forward(gpu, x.clone(), Some(&mut tape));
        let d = gpu.empty(logits.shape());
        kernels::softmax_xent(gpu, &logits, &y, &d, &loss, &correct, batch, 10, 0);
        m.backward(gpu, tape, d, false);
        opt.update(gpu, &m.params, 1e-3);
    };
    let t = time_async(gpu, 2, runs, &mut step).await?;
    let l = gpu.read_f32(&loss).await?;
    if l.iter().any(|v| !v.is_finite()) {
        return Ok(failed(id, "non-finite loss".into()));
    }
    Ok(result(id, t, 0.0, 0.0))
}
