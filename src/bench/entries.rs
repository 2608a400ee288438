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
        items_per_s: None,
    }
}

fn failed(id: String, why: String) -> EntryResult {
    EntryResult { id, status: why, median_ms: 0.0, min_ms: 0.0, max_ms: 0.0, runs: 0, gflops: None, gbytes_per_s: None, timing: String::new(), items_per_s: None }
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

/// A random batch of MNIST-shaped data on the GPU: (x, labels).
fn mnist_shaped_batch(gpu: &Gpu, batch: usize) -> (crate::gpu::Tensor, crate::gpu::Tensor) {
    let data = Dataset {
        images: random(batch * 784, 3).iter().map(|v| ((v + 1.0) * 127.0) as u8).collect(),
        labels: (0..batch).map(|i| (i % 10) as u8).collect(),
        shape: [1, 28, 28],
    };
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let idx: Vec<u32> = (0..batch as u32).collect();
    data.gather(&idx, &mut xs, &mut ys);
    (gpu.upload(&xs, &[batch, 1, 28, 28]), gpu.upload_u32(&ys, &[batch]))
}

/// `train_step/{model}/b{batch}`: forward, loss, backward and an Adam update on a random
/// batch of MNIST-shaped data.
pub async fn train_step_entry(gpu: &Gpu, model: &str, batch: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("train_step/{model}/b{batch}");
    let spec = ModelSpec::load(model)?;
    let m = Model::new(gpu, &spec, [1, 28, 28], 10, 0)?;
    let mut opt = Optimizer::new(gpu, &OptimizerConfig::default(), &m.params);
    let (x, y) = mnist_shaped_batch(gpu, batch);
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

/// `pgd{steps}/{model}/b{batch}`: an L-inf PGD attack (eps 0.3, random start, one restart,
/// worst-case bookkeeping) on a batch; reports examples per second. Checked first: every
/// example stays in the eps-ball and in [0, 1], and the attack raises the loss.
pub async fn pgd_entry(gpu: &Gpu, model: &str, batch: usize, steps: usize, runs: usize) -> Result<EntryResult> {
    use crate::attack::{pgd, probe, AttackConfig, AttackName, Batch, Method, Objective, WorstCase};
    use crate::kernels::{AdvLoss, Norm};
    let id = format!("pgd{steps}/{model}/b{batch}");
    let spec = ModelSpec::load(model)?;
    let m = Model::new(gpu, &spec, [1, 28, 28], 10, 0)?;
    let (x0, y) = mnist_shaped_batch(gpu, batch);
    let eps = 0.3;
    let cfg = AttackConfig {
        name: AttackName::Pgd,
        method: Method::Pgd,
        norm: Norm::Linf,
        loss: AdvLoss::Ce,
        eps,
        step: 2.5 * eps / steps as f32,
        steps,
        restarts: 1,
        random_start: true,
        targeted: false,
        seed: 0,
    };
    let b = Batch::new(gpu, x0.clone(), y.clone(), &cfg, 0);
    let attack = || {
        let record = WorstCase::new(gpu, &x0);
        pgd(gpu, &m, &cfg, &b, &record);
        record
    };
    let record = attack();
    let obj = Objective { loss: AdvLoss::Ce, labels: &y, targets: None, reference: None };
    let clean_loss = gpu.read_f32(&probe(gpu, &m, &obj, &x0, false).loss).await?;
    let (clean, adv, adv_loss) = (gpu.read_f32(&x0).await?, gpu.read_f32(&record.x).await?, gpu.read_f32(&record.loss).await?);
    if let Some(i) = clean.iter().zip(&adv).position(|(c, a)| !(0.0..=1.0).contains(a) || (a - c).abs() > eps + 1e-6) {
        return Ok(failed(id, format!("pixel {i} left the eps-ball or [0, 1]: {} from {}", adv[i], clean[i])));
    }
    if adv_loss.iter().sum::<f32>() < clean_loss.iter().sum::<f32>() {
        return Ok(failed(id, "the attack lowered the loss".into()));
    }
    let t = time_async(gpu, 1, runs, || drop(attack())).await?;
    let mut r = result(id, t, 0.0, 0.0);
    r.items_per_s = Some(batch as f64 / (r.median_ms / 1e3));
    Ok(r)
}
