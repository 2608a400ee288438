//! Benchmark entries. Each one checks its output against the CPU reference on its first run
//! (a failed check is reported and nothing is timed), then times repeated runs.

use super::inference::Wta;
use super::{time_async, time_paired, EntryResult, Timing, Versus};
use crate::attack::{craft, pgd, probe, AdvMethod, AdvTrainConfig, AttackConfig, Batch, Objective, WorstCase};
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdvLoss, Conv2dGeometry, MatmulForm, Norm};
use crate::nn::{LayerSpec, Model, ModelSpec};
use crate::reference;
use crate::train::{Optimizer, OptimizerConfig};
use rand::{Rng, SeedableRng};

pub(super) fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

pub(super) fn result(id: String, t: Timing, flops: f64, bytes: f64) -> EntryResult {
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
        timing: t.method.into(),
        items_per_s: None,
        kernels: None,
        versus: None,
        fraction_of_peak: None,
        bound: None,
    }
}

pub(super) fn failed(id: String, why: String) -> EntryResult {
    EntryResult { id, status: why, median_ms: 0.0, min_ms: 0.0, max_ms: 0.0, runs: 0, gflops: None, gbytes_per_s: None, timing: String::new(), items_per_s: None, kernels: None, versus: None, fraction_of_peak: None, bound: None }
}

thread_local! {
    static INJECT_FAILURES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Make every correctness check on this thread fail (or pass again): how the tests see that a
/// failed check is reported and never timed.
pub fn inject_check_failures(on: bool) {
    INJECT_FAILURES.with(|c| c.set(on));
}

/// Whether checks are made to fail on this thread (`inject_check_failures`).
pub(super) fn injected() -> bool {
    INJECT_FAILURES.with(|c| c.get())
}

/// The first element outside |got - want| <= tol * (1 + |want|), as a failure message.
pub(super) fn mismatch(what: &str, got: &[f32], want: &[f32], tol: f32) -> Option<String> {
    if injected() {
        return Some(format!("{what}: check failure injected"));
    }
    if got.len() != want.len() {
        return Some(format!("{what}: {} values, reference has {}", got.len(), want.len()));
    }
    (0..got.len()).find(|&i| (got[i] - want[i]).abs() > tol * (1.0 + want[i].abs()) || got[i].is_nan() != want[i].is_nan()).map(|i| format!("{what} wrong at {i}: {} vs reference {}", got[i], want[i]))
}

/// `matmul/f32/{n}`: C = A B for square n x n matrices.
pub async fn matmul_entry(gpu: &Gpu, n: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("matmul/f32/{n}");
    let (a, b) = (random(n * n, 1), random(n * n, 2));
    let (ga, gb, gc) = (gpu.upload(&a, &[n, n]), gpu.upload(&b, &[n, n]), gpu.empty(&[n, n]));
    kernels::matmul(gpu, MatmulForm::NN, &ga, &gb, &gc, n, n, n, false);
    let got = gpu.read_f32(&gc).await?;
    // A sample of rows (a full CPU product at 1024 is slow).
    for r in [0, n / 3, n - 1] {
        let mut want = vec![0f32; n];
        reference::matmul(MatmulForm::NN, &a[r * n..(r + 1) * n], &b, &mut want, 1, n, n, false);
        if let Some(why) = mismatch(&format!("row {r}"), &got[r * n..(r + 1) * n], &want, 1e-4 * (n as f32).sqrt()) {
            return Ok(failed(id, why));
        }
    }
    let t = time_async(gpu, 2, runs, || kernels::matmul(gpu, MatmulForm::NN, &ga, &gb, &gc, n, n, n, false)).await?;
    Ok(result(id, t, 2.0 * (n * n * n) as f64, 3.0 * (n * n * 4) as f64))
}

/// The mlp preset's (784-300-100-10) nine products at batch `batch`: (name, form, m, n, k) of
/// each layer's forward x W^T, input gradient dy W and weight gradient dy^T x. Skinny shapes
/// next to the square ones: what a training step and an attack spend their time on.
pub fn mlp_products(batch: usize) -> Vec<(String, MatmulForm, usize, usize, usize)> {
    let mut out = Vec::new();
    for (i, (fan_in, fan_out)) in [(784, 300), (300, 100), (100, 10)].into_iter().enumerate() {
        let l = i + 1;
        out.push((format!("mlp-fc{l}-fwd"), MatmulForm::NT, batch, fan_out, fan_in));
        out.push((format!("mlp-fc{l}-dx"), MatmulForm::NN, batch, fan_in, fan_out));
        out.push((format!("mlp-fc{l}-dw"), MatmulForm::TN, fan_out, fan_in, batch));
    }
    out
}

/// `matmul/f32/{name}/b{batch}`: one product of a layer, c = op(a) op(b), checked in full.
#[allow(clippy::too_many_arguments)]
pub async fn matmul_shape_entry(gpu: &Gpu, name: &str, form: MatmulForm, m: usize, n: usize, k: usize, batch: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("matmul/f32/{name}/b{batch}");
    let (a, b) = (random(m * k, 1), random(k * n, 2));
    let (ga, gb, gc) = (gpu.upload(&a, &[m * k]), gpu.upload(&b, &[k * n]), gpu.empty(&[m * n]));
    kernels::matmul(gpu, form, &ga, &gb, &gc, m, n, k, false);
    let got = gpu.read_f32(&gc).await?;
    let mut want = vec![0f32; m * n];
    reference::matmul(form, &a, &b, &mut want, m, n, k, false);
    if let Some(why) = mismatch("c", &got, &want, 1e-4 * (k as f32).sqrt()) {
        return Ok(failed(id, why));
    }
    let t = time_async(gpu, 2, runs, || kernels::matmul(gpu, form, &ga, &gb, &gc, m, n, k, false)).await?;
    Ok(result(id, t, 2.0 * (m * n * k) as f64, ((m * k + k * n + m * n) * 4) as f64))
}

/// Which product of a convolution an entry times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvPass {
    /// y = conv(x, W): direct for few weights (`conv_direct`), else im2col, matmul, layout permute.
    Forward,
    /// dx from dy: direct with the weights turned where `takes_direct_input_grad`, else permute, W^T dy, col2im.
    BackwardData,
    /// dW from dy: direct for few weights at stride 1 (`conv_direct_weight_grad`, the bias
    /// gradient included), else from the forward's columns.
    BackwardWeight,
}

impl ConvPass {
    pub fn name(self) -> &'static str {
        match self {
            ConvPass::Forward => "fwd",
            ConvPass::BackwardData => "bwd_data",
            ConvPass::BackwardWeight => "bwd_weight",
        }
    }
}

/// `conv2d/{pass}/c{c}-{h}x{w}-k{k}-o{co}/b{n}` (stride 1, same padding).
pub async fn conv2d_entry(gpu: &Gpu, pass: ConvPass, g: Conv2dGeometry, co: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("conv2d/{}/c{}-{}x{}-k{}-o{co}/b{}", pass.name(), g.c, g.h, g.w, g.kh, g.n);
    let (patch, pos, hw) = (g.patch(), g.positions(), g.oh() * g.ow());
    let x = random(g.n * g.c * g.h * g.w, 4);
    let w = random(co * patch, 5);
    let dy = random(g.n * co * hw, 6);
    let (gx, gw, gdy) = (gpu.upload(&x, &[g.n, g.c, g.h, g.w]), gpu.upload(&w, &[co, patch]), gpu.upload(&dy, &[g.n, co, g.oh(), g.ow()]));
    let cols = gpu.empty(&[patch, pos]);
    kernels::im2col(gpu, &g, &gx, &cols);
    let (ycn, y, dx, dw) = (gpu.empty(&[co, pos]), gpu.empty(&[g.n, co, g.oh(), g.ow()]), gpu.empty(&[g.n, g.c, g.h, g.w]), gpu.empty(&[co, patch]));
    let dcols = gpu.empty(&[patch, pos]);
    let zeros = gpu.zeros(&[co]);
    let direct = kernels::takes_direct(&g, co);
    let direct_grad = kernels::takes_direct_weight_grad(gpu, &g, co);
    let direct_data = kernels::takes_direct_input_grad(&g, co);
    let db = gpu.empty(&[co]);
    let run = || match pass {
        // The path a model's layer takes: direct for few weights, else im2col and a product.
        ConvPass::Forward if direct => kernels::conv_direct(gpu, &g, &gx, &gw, &zeros, &y, co, false),
        ConvPass::Forward => {
            kernels::im2col(gpu, &g, &gx, &cols);
            kernels::matmul(gpu, MatmulForm::NN, &gw, &cols, &ycn, co, pos, patch, false);
            kernels::cnhw_to_nchw(gpu, &ycn, &y, g.n, co, hw);
        }
        ConvPass::BackwardData if direct_data => kernels::conv_direct_input_grad(gpu, &g, &gdy, &gw, &dx, co),
        ConvPass::BackwardData => {
            kernels::nchw_to_cnhw(gpu, &gdy, &ycn, g.n, co, hw);
            kernels::matmul(gpu, MatmulForm::TN, &gw, &ycn, &dcols, patch, pos, co, false);
            kernels::col2im(gpu, &g, &dcols, &dx);
        }
        ConvPass::BackwardWeight if direct_grad => kernels::conv_direct_weight_grad(gpu, &g, &gx, &gdy, &dw, &db, co),
        ConvPass::BackwardWeight => {
            kernels::nchw_to_cnhw(gpu, &gdy, &ycn, g.n, co, hw);
            kernels::matmul(gpu, MatmulForm::NT, &ycn, &cols, &dw, co, patch, pos, false);
        }
    };
    run();
    let tol = 1e-4 * (patch.max(co).max(pos) as f32).sqrt();
    let (got, want) = match pass {
        ConvPass::Forward => (gpu.read_f32(&y).await?, reference::conv2d_forward(&g, &x, &w, &vec![0.0; co], co)),
        ConvPass::BackwardData | ConvPass::BackwardWeight => {
            let dy_cn = reference::permute_nchw_to_cnhw(&dy, g.n, co, hw);
            if pass == ConvPass::BackwardData {
                let mut dc = vec![0f32; patch * pos];
                reference::matmul(MatmulForm::TN, &w, &dy_cn, &mut dc, patch, pos, co, false);
                (gpu.read_f32(&dx).await?, reference::col2im(&g, &dc))
            } else {
                let mut want = vec![0f32; co * patch];
                reference::matmul(MatmulForm::NT, &dy_cn, &reference::im2col(&g, &x), &mut want, co, patch, pos, false);
                (gpu.read_f32(&dw).await?, want)
            }
        }
    };
    if let Some(why) = mismatch("output", &got, &want, tol) {
        return Ok(failed(id, why));
    }
    let t = time_async(gpu, 2, runs, run).await?;
    // The product's flops, and the bytes the pass must move at least once.
    let bytes = 4.0 * match pass {
        ConvPass::Forward => x.len() + w.len() + dy.len(),
        ConvPass::BackwardData => dy.len() + w.len() + x.len(),
        ConvPass::BackwardWeight => dy.len() + patch * pos + w.len(),
    } as f64;
    Ok(result(id, t, 2.0 * (co * patch * pos) as f64, bytes))
}

/// A random batch of MNIST-shaped data on the GPU: (x, labels).
pub(super) fn mnist_shaped_batch(gpu: &Gpu, batch: usize) -> (Tensor, Tensor) {
    shaped_batch(gpu, batch, [1, 28, 28])
}

/// A random batch of images of `shape` and labels of 10 classes.
pub(super) fn shaped_batch(gpu: &Gpu, batch: usize, shape: [usize; 3]) -> (Tensor, Tensor) {
    let d: usize = shape.iter().product();
    let data = Dataset {
        images: random(batch * d, 3).iter().map(|v| ((v + 1.0) * 127.0) as u8).collect(),
        labels: (0..batch).map(|i| (i % 10) as u8).collect(),
        shape,
    };
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let idx: Vec<u32> = (0..batch as u32).collect();
    data.gather(&idx, &mut xs, &mut ys);
    let [c, h, w] = shape;
    (gpu.upload(&xs, &[batch, c, h, w]), gpu.upload_u32(&ys, &[batch]))
}

/// `pgd_step/{norm}/b{batch}x{dim}`: the fused step kernel alone (sign or L2 normalisation,
/// step, projection, clamp).
pub async fn pgd_step_entry(gpu: &Gpu, norm: Norm, batch: usize, dim: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("pgd_step/{}/b{batch}x{dim}", if norm == Norm::Linf { "linf" } else { "l2" });
    let n = batch * dim;
    let x0: Vec<f32> = random(n, 7).iter().map(|v| 0.5 + 0.5 * v).collect();
    let g = random(n, 8);
    let eps = vec![if norm == Norm::Linf { 0.3 } else { 2.0 }; batch];
    let step = vec![0.05; batch];
    let (gx0, gg, ge, gs) = (gpu.upload(&x0, &[batch, dim]), gpu.upload(&g, &[batch, dim]), gpu.upload(&eps, &[batch]), gpu.upload(&step, &[batch]));
    let x = gpu.upload(&x0, &[batch, dim]);
    kernels::pgd_step(gpu, norm, &x, &gx0, &gg, &ge, &gs, batch, dim);
    let want = reference::pgd::pgd_step(norm, &x0, &x0, &g, &eps, &step, dim);
    if let Some(why) = mismatch("x", &gpu.read_f32(&x).await?, &want, 1e-5) {
        return Ok(failed(id, why));
    }
    let t = time_async(gpu, 2, runs, || kernels::pgd_step(gpu, norm, &x, &gx0, &gg, &ge, &gs, batch, dim)).await?;
    // Reads x, x0 and grad, writes x.
    Ok(result(id, t, 0.0, 16.0 * n as f64))
}

/// `augmix/mnist/b{batch}`: AugMix of a batch of MNIST-shaped images (3 chains of 1 to 3
/// tone operations, and their mixture), the input transformation of every AugMix training step.
pub async fn augmix_entry(gpu: &Gpu, batch: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("augmix/mnist/b{batch}");
    let shape = [batch, 1, 28, 28];
    let (x, _) = mnist_shaped_batch(gpu, batch);
    let chains = kernels::AugmixChains { width: 3, depth: 0, severity: 3.0, geometric: false };
    let weights = reference::augmix::mixing_weights(7, batch, chains.width, 1.0);
    let w = gpu.upload(&weights, &[batch, chains.width + 1]);
    let y = gpu.empty(x.shape());
    kernels::augmix(gpu, &x, &y, &w, shape, &chains, 7);
    let want = reference::augmix::augmix(&gpu.read_f32(&x).await?, shape, &weights, &chains, 7);
    if let Some(why) = mismatch("y", &gpu.read_f32(&y).await?, &want, 1e-5) {
        return Ok(failed(id, why));
    }
    let t = time_async(gpu, 2, runs, || kernels::augmix(gpu, &x, &y, &w, shape, &chains, 7)).await?;
    // Reads x and writes y at least once.
    Ok(result(id, t, 0.0, 8.0 * x.numel() as f64))
}

/// `train_step/{model}/b{batch}`: forward, loss, backward and an Adam update on a random
/// batch of MNIST-shaped data. With `blocks` = (block, sparsity),
/// `train_step/{model}-b{block}-s{sparsity}/b{batch}`: the same step after pruning that share of
/// every hidden layer's weight blocks (the first and last layers stay dense), with the pruned
/// layers on the block-sparse kernels.
/// With `wta`, `train_step/{model}-wta{sparsity}-{skip|all-channels}/b{batch}`: the model with
/// winners-take-all after every ReLU, the next layers skipping its dropped channels or not.
/// A residual preset (on CIFAR-shaped data) is timed against itself without batch
/// normalization and shortcuts (`<model>-plain`): their overhead.
pub async fn train_step_entry(gpu: &Gpu, model: &str, batch: usize, blocks: Option<(usize, f64)>, wta: Option<Wta>, runs: usize) -> Result<EntryResult> {
    let id = train_step_id(model, batch, blocks, wta);
    let (x, y) = shaped_batch(gpu, batch, super::inference::bench_input(model));
    let (loss, correct) = (gpu.empty(&[batch]), gpu.empty_u32(&[batch]));
    let mut trainer = match StepTrainer::new(gpu, model, blocks, wta).await? {
        Ok(t) => t,
        Err(why) => return Ok(failed(id, why)),
    };
    trainer.step(gpu, &x, &y, &loss, &correct);
    let l = gpu.read_f32(&loss).await?;
    // Fresh Kaiming-initialised weights on 10 classes: the loss starts near ln 10.
    if injected() || l.iter().any(|v| !v.is_finite() || *v > 20.0) {
        return Ok(failed(id, format!("implausible first loss {:?}", &l[..l.len().min(4)])));
    }
    // A block-sparse step is timed against the dense one (a ternary model's against the f32
    // one), a channel-skipping step against the same model with every channel, run for run.
    let plain = format!("{model}-plain");
    let reference = match (blocks, wta) {
        (Some(_), _) => Some((model.strip_suffix("-twn").unwrap_or(model), None, wta)),
        (None, Some(w)) if w.skip => Some((model, None, Some(Wta { skip: false, ..w }))),
        (None, None) if ModelSpec::load(model)?.layers.iter().any(|l| matches!(l, LayerSpec::Add { .. } | LayerSpec::Batchnorm { .. })) => Some((plain.as_str(), None, None)),
        _ => None,
    };
    let mut r = match reference {
        None => result(id, time_async(gpu, 2, runs, || trainer.step(gpu, &x, &y, &loss, &correct)).await?, 0.0, 0.0),
        Some((ref_model, ref_blocks, ref_wta)) => {
            let Ok(mut other) = StepTrainer::new(gpu, ref_model, ref_blocks, ref_wta).await? else { unreachable!("a dense model always builds") };
            let (t, ref_t, speedup) = time_paired(gpu, 2, runs, || trainer.step(gpu, &x, &y, &loss, &correct), || other.step(gpu, &x, &y, &loss, &correct)).await?;
            let mut r = result(id, t, 0.0, 0.0);
            r.versus = Some(Versus { reference: train_step_id(ref_model, batch, ref_blocks, ref_wta), reference_median_ms: ref_t.median_ms, speedup });
            r
        }
    };
    r.items_per_s = Some(batch as f64 / (r.median_ms / 1e3));
    Ok(r)
}

/// `pgd_at_step/{model}/b{batch}`: one step of PGD adversarial training (Madry et al.) on a
/// random batch: an L-inf PGD attack of `steps` steps (eps 0.3, step 2.5 eps / steps, random
/// start, the model in evaluation mode) crafts the batch, then forward, loss, backward and an
/// Adam update on it. Checked first: every crafted example stays in the eps-ball and in
/// [0, 1], the attack raises the loss, and the step's loss is plausible.
pub async fn pgd_at_step_entry(gpu: &Gpu, model: &str, batch: usize, steps: usize, runs: usize) -> Result<EntryResult> {
    let id = pgd_at_step_id(model, batch);
    let (x0, y) = shaped_batch(gpu, batch, super::inference::bench_input(model));
    let (loss, correct) = (gpu.empty(&[batch]), gpu.empty_u32(&[batch]));
    let mut trainer = match StepTrainer::new(gpu, model, None, None).await? {
        Ok(t) => t,
        Err(why) => return Ok(failed(id, why)),
    };
    let eps = 0.3;
    let adv = AdvTrainConfig { method: AdvMethod::Pgd, norm: Norm::Linf, eps, step: 2.5 * eps / steps as f32, steps, random_start: true, ..Default::default() };
    let b = Batch::with_radii(gpu, x0.clone(), y.clone(), vec![eps; batch], vec![adv.step; batch], 0);
    let xa = craft(gpu, &trainer.m, &adv, &b, None);
    let obj = Objective { loss: AdvLoss::Ce, labels: &y, targets: None, reference: None };
    let clean_loss = gpu.read_f32(&probe(gpu, &trainer.m, &obj, &x0, false).loss).await?;
    let adv_loss = gpu.read_f32(&probe(gpu, &trainer.m, &obj, &xa, false).loss).await?;
    let (clean, crafted) = (gpu.read_f32(&x0).await?, gpu.read_f32(&xa).await?);
    if let Some(i) = clean.iter().zip(&crafted).position(|(c, a)| injected() || !(0.0..=1.0).contains(a) || (a - c).abs() > eps + 1e-6) {
        return Ok(failed(id, format!("pixel {i} left the eps-ball or [0, 1]: {} from {}", crafted[i], clean[i])));
    }
    if adv_loss.iter().sum::<f32>() < clean_loss.iter().sum::<f32>() {
        return Ok(failed(id, "the attack lowered the loss".into()));
    }
    trainer.step(gpu, &xa, &y, &loss, &correct);
    let l = gpu.read_f32(&loss).await?;
    if l.iter().any(|v| !v.is_finite() || *v > 20.0) {
        return Ok(failed(id, format!("implausible first loss {:?}", &l[..l.len().min(4)])));
    }
    let t = time_async(gpu, 1, runs, || {
        let xa = craft(gpu, &trainer.m, &adv, &b, None);
        trainer.step(gpu, &xa, &y, &loss, &correct);
    })
    .await?;
    let mut r = result(id, t, 0.0, 0.0);
    r.items_per_s = Some(batch as f64 / (r.median_ms / 1e3));
    Ok(r)
}

pub fn pgd_at_step_id(model: &str, batch: usize) -> String {
    format!("pgd_at_step/{model}/b{batch}")
}

/// A model and its optimizer for `train_step_entry`.
pub(super) struct StepTrainer {
    m: Model,
    opt: Optimizer,
}

impl StepTrainer {
    /// `model` (with winners-take-all layers for `wta`), pruned to `blocks` = (block,
    /// sparsity) on the block-sparse kernels; Err says why a pruned model could not be built.
    pub(super) async fn new(gpu: &Gpu, model: &str, blocks: Option<(usize, f64)>, wta: Option<Wta>) -> Result<std::result::Result<Self, String>> {
        let mut m = Wta::model(wta, gpu, model)?;
        let opt = Optimizer::new(gpu, &OptimizerConfig::default(), &m.params);
        if let Some((block, sparsity)) = blocks {
            crate::sparse::block_magnitude_prune(gpu, &mut m, Some(&opt), sparsity, crate::sparse::Scope::Layer, block, true);
            let moved = m.use_block_sparse(gpu, &crate::kernels::tune::Crossover::always()).await?;
            // Quantization-aware training computes with the dequantized weights (masked, so
            // pruned blocks stay zero) and leaves its layers off the block-sparse kernels.
            if moved.is_empty() && m.quant.is_none() {
                return Ok(Err("no layer moved to the block-sparse kernels".into()));
            }
        }
        Ok(Ok(StepTrainer { m, opt }))
    }

    /// Forward, loss, backward and an Adam update on the batch (x, y), in training mode
    /// (batch statistics, dropout).
    pub(super) fn step(&mut self, gpu: &Gpu, x: &Tensor, y: &Tensor, loss: &Tensor, correct: &Tensor) {
        let batch = x.shape()[0];
        self.m.training.set(Some(1));
        let mut tape = self.m.tape();
        let logits = self.m.forward(gpu, x.clone(), Some(&mut tape));
        let d = gpu.empty(logits.shape());
        kernels::softmax_xent(gpu, &logits, y, &d, loss, correct, batch, 10, 0);
        self.m.backward(gpu, tape, d, false);
        self.m.training.set(None);
        self.opt.update(gpu, &self.m.params, 1e-3);
        self.m.weights_changed(gpu);
    }
}

pub fn train_step_id(model: &str, batch: usize, blocks: Option<(usize, f64)>, wta: Option<Wta>) -> String {
    let model = Wta::label(wta, model);
    match blocks {
        None => format!("train_step/{model}/b{batch}"),
        Some((block, s)) => format!("train_step/{model}-b{block}-s{s:.2}/b{batch}"),
    }
}

/// `pgd{steps}/{model}/b{batch}`: an L-inf PGD attack (eps 0.3, random start, one restart,
/// worst-case bookkeeping) on a batch; reports examples per second. Checked first: every
/// example stays in the eps-ball and in [0, 1], and the attack raises the loss.
/// With `wta`, `pgd{steps}/{model}-wta{sparsity}-{skip|all-channels}/b{batch}` (as for
/// `train_step_entry`).
pub async fn pgd_entry(gpu: &Gpu, model: &str, batch: usize, steps: usize, wta: Option<Wta>, runs: usize) -> Result<EntryResult> {
    let id = pgd_id(model, batch, steps, wta);
    let m = Wta::model(wta, gpu, model)?;
    let (x0, y) = mnist_shaped_batch(gpu, batch);
    let eps = 0.3;
    let cfg = AttackConfig::pgd(Norm::Linf, eps, 2.5 * eps / steps as f32, steps, 0);
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
    if let Some(i) = clean.iter().zip(&adv).position(|(c, a)| injected() || !(0.0..=1.0).contains(a) || (a - c).abs() > eps + 1e-6) {
        return Ok(failed(id, format!("pixel {i} left the eps-ball or [0, 1]: {} from {}", adv[i], clean[i])));
    }
    if adv_loss.iter().sum::<f32>() < clean_loss.iter().sum::<f32>() {
        return Ok(failed(id, "the attack lowered the loss".into()));
    }
    // A channel-skipping attack is timed against the same model with every channel, run for run.
    let mut r = match wta.filter(|w| w.skip) {
        None => result(id, time_async(gpu, 1, runs, || drop(attack())).await?, 0.0, 0.0),
        Some(w) => {
            let all = Some(Wta { skip: false, ..w });
            let other = Wta::model(all, gpu, model)?;
            let attack_all = || {
                let record = WorstCase::new(gpu, &x0);
                pgd(gpu, &other, &cfg, &b, &record);
            };
            let (t, ref_t, speedup) = time_paired(gpu, 1, runs, || drop(attack()), attack_all).await?;
            let mut r = result(id, t, 0.0, 0.0);
            r.versus = Some(Versus { reference: pgd_id(model, batch, steps, all), reference_median_ms: ref_t.median_ms, speedup });
            r
        }
    };
    r.items_per_s = Some(batch as f64 / (r.median_ms / 1e3));
    Ok(r)
}

pub fn pgd_id(model: &str, batch: usize, steps: usize, wta: Option<Wta>) -> String {
    format!("pgd{steps}/{}/b{batch}", Wta::label(wta, model))
}

/// How a linear layer's weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    F32,
    /// 2-bit packed ternary (see `crate::kernels::packed`).
    Ternary,
    /// Packed ternary with half-precision activations (adapters with shader-f16).
    TernaryF16,
}

impl WeightFormat {
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::Ternary => "ternary",
            WeightFormat::TernaryF16 => "ternary-f16",
        }
    }
}

/// `linear/{format}/{n}x{n}/b{batch}`: y = x W^T for a square layer, as the model runs it:
/// f32 through `matvec` at batch 1 and `matmul` above, ternary through `ternary_matmul`
/// (`ternary_matmul_f16` with x and y in half precision).
pub async fn linear_entry(gpu: &Gpu, format: WeightFormat, n: usize, batch: usize, runs: usize) -> Result<EntryResult> {
    let id = format!("linear/{}/{n}x{n}/b{batch}", format.name());
    if format == WeightFormat::TernaryF16 && !gpu.has_f16() {
        return Ok(failed(id, "unsupported: this adapter has no shader-f16".into()));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let x = random(batch * n, 10);
    // A third of the weights zero, as TWN's threshold leaves them; one scale per row.
    let t: Vec<i8> = (0..n * n).map(|_| rng.random_range(-1..=1)).collect();
    let scale: Vec<f32> = (0..n).map(|_| rng.random_range(0.01f32..0.1)).collect();
    let dense = reference::ternary::dequantize(&t, &scale, &scale, n, n);
    let half = format == WeightFormat::TernaryF16;
    let (gx, gy) = if half {
        let (h, y) = (gpu.empty_f16(&[batch, n]), gpu.empty_f16(&[batch, n]));
        kernels::to_f16(gpu, &gpu.upload(&x, &[batch, n]), &h);
        (h, y)
    } else {
        (gpu.upload(&x, &[batch, n]), gpu.empty(&[batch, n]))
    };
    let words = crate::kernels::packed::pack(&t, n, n);
    // Only the weights this format computes with go to the GPU.
    enum Weights {
        F32(Tensor),
        Ternary(kernels::PackedTernary),
    }
    let weights = match format {
        WeightFormat::F32 => Weights::F32(gpu.upload(&dense, &[n, n])),
        WeightFormat::Ternary | WeightFormat::TernaryF16 => Weights::Ternary(kernels::PackedTernary::upload(gpu, &words, &scale, &scale, n, n)),
    };
    let layout = kernels::ActivationLayout::default();
    let run = || match &weights {
        Weights::F32(w) if batch == 1 => kernels::matvec(gpu, &gx, w, &gy, 1, n, n),
        Weights::F32(w) => kernels::matmul(gpu, MatmulForm::NT, &gx, w, &gy, batch, n, n, false),
        Weights::Ternary(w) if half => kernels::ternary_matmul_f16(gpu, &gx, w, &gy, batch, layout),
        Weights::Ternary(w) => kernels::ternary_matmul(gpu, &gx, w, &gy, batch, layout),
    };
    run();
    let got = if half { gpu.read_f16(&gy).await? } else { gpu.read_f32(&gy).await? };
    // Half precision: the activations' and the output's rounding, 2^-11 each, relative to
    // sum |x w| (at most sqrt(n) times |y| for these random signs).
    let tol = if half { 2e-3 * (n as f32).sqrt() } else { 1e-5 * (n as f32).sqrt() };
    for r in [0, batch / 2, batch - 1] {
        let mut want = vec![0f32; n];
        let xr: Vec<f32> = if half { x[r * n..(r + 1) * n].iter().map(|&v| reference::round_f16(v)).collect() } else { x[r * n..(r + 1) * n].to_vec() };
        reference::matmul(MatmulForm::NT, &xr, &dense, &mut want, 1, n, n, false);
        if let Some(why) = mismatch(&format!("row {r}"), &got[r * n..(r + 1) * n], &want, tol) {
            return Ok(failed(id, why));
        }
    }
    let t = time_async(gpu, 2, runs, run).await?;
    let (weight_bytes, activation_bytes) = match format {
        WeightFormat::F32 => (4 * n * n, 8 * batch * n),
        WeightFormat::Ternary => (4 * words.len() + 8 * n, 8 * batch * n),
        WeightFormat::TernaryF16 => (4 * words.len() + 8 * n, 4 * batch * n),
    };
    Ok(result(id, t, 2.0 * (batch * n * n) as f64, (weight_bytes + activation_bytes) as f64))
}
