//! The fixed, versioned suite: every entry's stable id and what it runs. `--quick` runs the
//! same entries at tiny sizes (their ids say so), so the suite cannot rot unnoticed.

use super::entries::{augmix_entry, conv2d_entry, failed, linear_entry, matmul_entry, matmul_shape_entry, mlp_products, pgd_at_step_entry, pgd_at_step_id, pgd_entry, pgd_id, pgd_step_entry, train_step_entry, train_step_id, ConvPass, WeightFormat};
use super::inference::{infer_entry, infer_id, select_entry, InferFormat, Wta};
use super::sparse::{sparse_entry, sparse_id, SparseFormat, SparseLayer};
use crate::gpu::take_profile;
use super::EntryResult;
use crate::error::{AerError, Result};
use crate::gpu::AdapterSummary;
use crate::gpu::Gpu;
use crate::kernels::{Conv2dGeometry, MatmulForm, Norm};

/// One entry of the suite.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Matmul { n: usize },
    /// One product of a layer at batch `batch` (`mlp_products`).
    MatmulShape { name: String, form: MatmulForm, m: usize, n: usize, k: usize, batch: usize },
    Linear { format: WeightFormat, n: usize, batch: usize },
    Conv2d { pass: ConvPass, geometry: Conv2dGeometry, out: usize },
    PgdStep { norm: Norm, batch: usize, dim: usize },
    Augmix { batch: usize },
    /// `blocks`: (block size, share of blocks pruned), on the block-sparse kernels.
    /// `wta`: winners-take-all after every ReLU (see `Wta`).
    TrainStep { model: &'static str, batch: usize, blocks: Option<(usize, f64)>, wta: Option<Wta> },
    Pgd { model: &'static str, batch: usize, steps: usize, wta: Option<Wta> },
    /// One PGD adversarial training step: a PGD attack of `steps` steps crafts the batch,
    /// then one training step on it.
    PgdAtStep { model: &'static str, batch: usize, steps: usize },
    Sparse { layer: SparseLayer, pass: ConvPass, format: SparseFormat },
    Infer { model: &'static str, format: InferFormat, batch: usize },
    Select { n: usize },
}

impl Entry {
    /// The entry's stable id, e.g. `matmul/f32/1024` or `train_step/cnn/b128`.
    pub fn id(&self) -> String {
        match self {
            Entry::Matmul { n } => format!("matmul/f32/{n}"),
            Entry::MatmulShape { name, batch, .. } => format!("matmul/f32/{name}/b{batch}"),
            Entry::Linear { format, n, batch } => format!("linear/{}/{n}x{n}/b{batch}", format.name()),
            Entry::Conv2d { pass, geometry: g, out } => format!("conv2d/{}/c{}-{}x{}-k{}-o{out}/b{}", pass.name(), g.c, g.h, g.w, g.kh, g.n),
            Entry::PgdStep { norm, batch, dim } => format!("pgd_step/{}/b{batch}x{dim}", if *norm == Norm::Linf { "linf" } else { "l2" }),
            Entry::Augmix { batch } => format!("augmix/mnist/b{batch}"),
            Entry::TrainStep { model, batch, blocks, wta } => train_step_id(model, *batch, *blocks, *wta),
            Entry::Pgd { model, batch, steps, wta } => pgd_id(model, *batch, *steps, *wta),
            Entry::PgdAtStep { model, batch, .. } => pgd_at_step_id(model, *batch),
            Entry::Sparse { layer, pass, format } => sparse_id(layer, *pass, *format),
            Entry::Infer { model, format, batch } => infer_id(model, *format, *batch),
            Entry::Select { n } => format!("select_topk/{n}"),
        }
    }

    pub async fn run(&self, gpu: &Gpu, runs: usize) -> Result<EntryResult> {
        match *self {
            Entry::Matmul { n } => matmul_entry(gpu, n, runs).await,
            Entry::MatmulShape { ref name, form, m, n, k, batch } => matmul_shape_entry(gpu, name, form, m, n, k, batch, runs).await,
            Entry::Linear { format, n, batch } => linear_entry(gpu, format, n, batch, runs).await,
            Entry::Conv2d { pass, geometry, out } => conv2d_entry(gpu, pass, geometry, out, runs).await,
            Entry::PgdStep { norm, batch, dim } => pgd_step_entry(gpu, norm, batch, dim, runs).await,
            Entry::Augmix { batch } => augmix_entry(gpu, batch, runs).await,
            Entry::TrainStep { model, batch, blocks, wta } => train_step_entry(gpu, model, batch, blocks, wta, runs).await,
            Entry::Pgd { model, batch, steps, wta } => pgd_entry(gpu, model, batch, steps, wta, runs).await,
            Entry::PgdAtStep { model, batch, steps } => pgd_at_step_entry(gpu, model, batch, steps, runs).await,
            Entry::Sparse { layer, pass, format } => sparse_entry(gpu, layer, pass, format, runs).await,
            Entry::Infer { model, format, batch } => infer_entry(gpu, model, format, batch, runs).await,
            Entry::Select { n } => select_entry(gpu, n, runs).await,
        }
    }
}

/// The suite, in the order it runs: the entries an adapter with (`half`) or without
/// shader-f16 can run.
pub fn suite(quick: bool, half: bool) -> Vec<Entry> {
    let batch = if quick { 4 } else { 128 };
    let mut out: Vec<Entry> = (if quick { vec![64, 128] } else { vec![256, 512, 1024] }).into_iter().map(|n| Entry::Matmul { n }).collect();
    out.extend(mlp_products(batch).into_iter().map(|(name, form, m, n, k)| Entry::MatmulShape { name, form, m, n, k, batch }));
    // A large linear layer, f32 against 2-bit ternary (f32 and f16 activations), from one
    // example to a batch.
    let (n, batches) = if quick { (256, vec![1, 4]) } else { (4096, vec![1, 64, 128]) };
    for b in batches {
        for format in [WeightFormat::F32, WeightFormat::Ternary, WeightFormat::TernaryF16] {
            if format != WeightFormat::TernaryF16 || half {
                out.push(Entry::Linear { format, n, batch: b });
            }
        }
    }
    // The cnn preset's two convolutions on MNIST.
    for (c, hw, o) in [(1, 28, 16), (16, 14, 32)] {
        let geometry = Conv2dGeometry { n: batch, c, h: hw, w: hw, kh: 5, kw: 5, stride: 1, pad: 2 };
        for pass in [ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeight] {
            out.push(Entry::Conv2d { pass, geometry, out: o });
        }
    }
    for norm in [Norm::Linf, Norm::L2] {
        out.push(Entry::PgdStep { norm, batch, dim: 784 });
    }
    out.push(Entry::Augmix { batch });
    // TRADES' SmallCNN on MNIST, and ResNet-20 on CIFAR-shaped data timed against the same
    // convolutions without batch normalization and shortcuts.
    for model in ["mlp", "cnn", "smallcnn", "resnet20"] {
        out.push(Entry::TrainStep { model, batch, blocks: None, wta: None });
    }
    // The cnn with 91% of its hidden layers' 32 x 32 weight blocks pruned (90.5% of all its
    // weights), on the BSR kernels.
    out.push(Entry::TrainStep { model: "cnn", batch, blocks: Some((32, 0.91)), wta: None });
    // The same pruning (blocks of 16) with TWN ternary weights: a quantization-aware training
    // step of the compressed cnn, timed against the dense step.
    out.push(Entry::TrainStep { model: "cnn-twn", batch, blocks: Some((16, 0.91)), wta: None });
    // The cnn with winners-take-all at 50% after every ReLU, training and attacked with and
    // without skipping the dropped channels.
    let wta = [false, true].map(|skip| Some(Wta { sparsity: 0.5, skip }));
    for w in wta {
        out.push(Entry::TrainStep { model: "cnn", batch, blocks: None, wta: w });
    }
    let steps = if quick { 2 } else { 10 };
    for model in ["mlp", "cnn"] {
        out.push(Entry::Pgd { model, batch, steps, wta: None });
    }
    for w in wta {
        out.push(Entry::Pgd { model: "cnn", batch, steps, wta: w });
    }
    // PGD adversarial training: PGD-10 crafts the batch, then one training step.
    out.push(Entry::PgdAtStep { model: "cnn", batch, steps: 10 });
    // Inference on the same model four ways: dense, block-sparse, packed ternary, and
    // compressed both ways (block-sparse ternary); the packed ones for one example too.
    let infer_batch = if quick { 4 } else { 256 };
    for format in [InferFormat::Dense, InferFormat::Bsr { block: 16, sparsity: 0.91 }, InferFormat::Ternary, InferFormat::BsrTernary { block: 16, sparsity: 0.91 }] {
        out.push(Entry::Infer { model: "cnn", format, batch: infer_batch });
    }
    for format in [InferFormat::Dense, InferFormat::Ternary, InferFormat::BsrTernary { block: 16, sparsity: 0.91 }] {
        out.push(Entry::Infer { model: "cnn", format, batch: 1 });
    }
    // Winners-take-all activation sparsity, with and without skipping the dropped channels,
    // for one example and a batch.
    for b in [1, infer_batch] {
        for sparsity in [0.5, 0.75] {
            for skip in [false, true] {
                out.push(Entry::Infer { model: "cnn", format: InferFormat::Wta { sparsity, skip }, batch: b });
            }
        }
    }
    // Batch normalization folded into the convolutions, against evaluating it.
    out.push(Entry::Infer { model: "resnet20", format: InferFormat::Folded, batch: if quick { 4 } else { 128 } });
    out.push(Entry::Select { n: if quick { 4096 } else { 1 << 20 } });
    out.extend(sparse_entries(quick, batch));
    out
}

/// Block-sparse products against the dense kernel on the same shapes: a 1024 x 1024 linear
/// layer and the cnn preset's fc1 and conv2 (through im2col) at batch 128; blocks of 16 and
/// 32 at densities 50% down to 5%.
fn sparse_entries(quick: bool, batch: usize) -> Vec<Entry> {
    let (layers, formats): (Vec<SparseLayer>, Vec<SparseFormat>) = if quick {
        (
            vec![
                SparseLayer::linear("64x64", 64, 64, batch),
                SparseLayer::conv("c4-6x6-k3-o8", 8, Conv2dGeometry { n: batch, c: 4, h: 6, w: 6, kh: 3, kw: 3, stride: 1, pad: 1 }),
            ],
            vec![SparseFormat::Dense, SparseFormat::Bsr { block: 16, density: 0.5 }, SparseFormat::Bsr { block: 4, density: 0.25 }],
        )
    } else {
        let mut formats = vec![SparseFormat::Dense];
        for block in [16, 32] {
            formats.extend([0.5, 0.25, 0.1, 0.05].map(|density| SparseFormat::Bsr { block, density }));
        }
        (
            vec![
                SparseLayer::linear("1024x1024", 1024, 1024, batch),
                SparseLayer::linear("cnn-fc1-256x1568", 256, 1568, batch),
                SparseLayer::conv("cnn-conv2-c16-14x14-k5-o32", 32, Conv2dGeometry { n: batch, c: 16, h: 14, w: 14, kh: 5, kw: 5, stride: 1, pad: 2 }),
            ],
            formats,
        )
    };
    let mut out = Vec::new();
    for layer in layers {
        for pass in [ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeight] {
            out.extend(formats.iter().map(|&format| Entry::Sparse { layer, pass, format }));
        }
    }
    out
}

/// What one adapter runs of the suite: the entries `--filter` picked that it can run, and a
/// line for each thing that falls back on it, saying what and why (entries that need a
/// feature it lacks, wall-clock timing without timestamp queries, `--profile` without them).
#[derive(Debug)]
pub struct Selection {
    pub entries: Vec<Entry>,
    pub notes: Vec<String>,
}

/// The entries whose id contains `filter` (all without one), for an adapter with the
/// summary's features; `profile`: a per-kernel breakdown was asked for. An error where the
/// filter matches no entry, or only ones the adapter cannot run.
pub fn select(quick: bool, filter: Option<&str>, adapter: &AdapterSummary, profile: bool) -> Result<Selection> {
    check_filter(quick, filter)?;
    let picked = |e: &Entry| filter.is_none_or(|f| e.id().contains(f));
    let entries: Vec<Entry> = suite(quick, adapter.shader_f16).into_iter().filter(|e| picked(e)).collect();
    let runnable: Vec<String> = entries.iter().map(|e| e.id()).collect();
    let lacking: Vec<String> = suite(quick, true).into_iter().filter(|e| picked(e)).map(|e| e.id()).filter(|id| !runnable.contains(id)).collect();
    let name = &adapter.name;
    let mut notes = Vec::new();
    if !lacking.is_empty() {
        let shown = lacking.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        let more = if lacking.len() > 3 { format!(" and {} more", lacking.len() - 3) } else { String::new() };
        notes.push(format!("skipping {} entries ({shown}{more}): they compute in half precision and {name} has no shader-f16", lacking.len()));
    }
    if entries.is_empty() {
        return Err(AerError::Invalid(format!("--filter {:?}: every entry it matches needs shader-f16, which {name} lacks; choose another adapter (`aer adapters` lists them)", filter.unwrap_or(""))));
    }
    if !adapter.timestamp_queries {
        notes.push(format!("{name} has no timestamp queries: entries are timed by the wall clock around submit-and-wait, which includes submission and readback"));
        if profile {
            notes.push(format!("--profile: {name} has no timestamp queries, so there is no per-kernel breakdown"));
        }
    }
    Ok(Selection { entries, notes })
}

/// An error naming the closest ids where `filter` matches no entry of the suite on any adapter.
pub fn check_filter(quick: bool, filter: Option<&str>) -> Result<()> {
    let Some(f) = filter else { return Ok(()) };
    let ids: Vec<String> = suite(quick, true).iter().map(|e| e.id()).collect();
    if ids.iter().any(|id| id.contains(f)) {
        return Ok(());
    }
    let mut ranked: Vec<(usize, &String)> = ids.iter().map(|id| (common_run(f, id), id)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.len().cmp(&b.1.len())));
    let closest: Vec<&str> = ranked.iter().take(5).map(|(_, id)| id.as_str()).collect();
    Err(AerError::Invalid(format!(
        "--filter {f:?} matches no entry of the {} suite (ids match by substring); closest: {}; `aer-bench --list{}` prints every id",
        if quick { "quick" } else { "full" },
        closest.join(", "),
        if quick { " --quick" } else { "" }
    )))
}

/// Length of the longest run of characters `a` and `b` share.
fn common_run(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut best = 0;
    let mut prev = vec![0; b.len() + 1];
    for ca in &a {
        let mut row = vec![0; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                row[j + 1] = prev[j] + 1;
                best = best.max(row[j + 1]);
            }
        }
        prev = row;
    }
    best
}

/// Run the entries whose id contains `filter` (all without one); `done` sees each result.
pub async fn run_suite(gpu: &Gpu, quick: bool, runs: usize, filter: Option<&str>, done: &mut dyn FnMut(&EntryResult)) -> Result<Vec<EntryResult>> {
    if runs == 0 {
        return Err(AerError::Invalid("0 timed runs per entry: time at least 1 (--runs 1)".into()));
    }
    let mut results = Vec::new();
    for e in suite(quick, gpu.has_f16()).into_iter().filter(|e| filter.is_none_or(|f| e.id().contains(f))) {
        // A panic-free error in one entry is recorded as that entry's failure.
        let mut r = match e.run(gpu, runs).await {
            Ok(r) => r,
            Err(err) => failed(e.id(), err.to_string()),
        };
        r.kernels = take_profile();
        done(&r);
        results.push(r);
    }
    Ok(results)
}
