//! Measuring this adapter for `aer tune`: the block-sparse crossover, the matmul tune table
//! and the cutoffs between kernels. The kernel choice itself, and the cache they live in, are
//! `crate::kernels::tune`.

use super::entries::{random, shaped_batch, StepTrainer};
use super::{sparse_entry, time_paired, ConvPass, SparseFormat, SparseLayer};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::kernels::tune::{Crossover, Cutoffs, MatmulChoice, MatmulTable, MATMUL_TABLE_VERSION};
use crate::kernels::{matmul_config, record_shapes, takes_dot, MatmulConfig, MatmulForm, MatmulShape};
use std::collections::BTreeMap;

/// Densities `tune_crossover` tries, largest first.
const DENSITIES: [f64; 8] = [0.9, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05];

/// What `tune_crossover` found for one block size: the crossover density and the (density, ms) tried.
pub type TuneReport<'a> = &'a mut dyn FnMut(usize, f64, &[(f64, f64)]);

/// Measure the crossover on this adapter: for each block size, the largest density (of
/// `DENSITIES`) at which forward, input gradient and weight gradient together take less time
/// on the BSR kernels than on the dense product. `report` sees each block size's result.
pub async fn tune_crossover(gpu: &Gpu, quick: bool, runs: usize, report: TuneReport<'_>) -> Result<Crossover> {
    let layer = if quick { SparseLayer::linear("256x256", 256, 256, 32) } else { SparseLayer::linear("1024x1024", 1024, 1024, 128) };
    let total = |format: SparseFormat| async move {
        let mut ms = 0.0;
        for pass in [ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeight] {
            let r = sparse_entry(gpu, layer, pass, format, runs).await?;
            if !r.ok() {
                return Err(AerError::Invalid(format!("{}: {}", r.id, r.status)));
            }
            ms += r.median_ms;
        }
        Ok::<f64, AerError>(ms)
    };
    let dense = total(SparseFormat::Dense).await?;
    let mut max_density = BTreeMap::new();
    for block in crate::kernels::BSR_BLOCKS {
        let mut times = Vec::new();
        let mut best = 0.0;
        for d in DENSITIES {
            let ms = total(SparseFormat::Bsr { block, density: d }).await?;
            times.push((d, ms));
            if ms < dense {
                best = d;
                break;
            }
        }
        report(block, best, &times);
        max_density.insert(block.to_string(), best);
    }
    Ok(Crossover { adapter: gpu.adapter_label(), source: format!("aer tune on {} (dense {dense:.3} ms)", layer.name), max_density })
}

/// The products `tune_matmul` measures: the square ones of `matmul/f32/{n}` (256, 512, 1024;
/// 64 and 128 with `quick`) and every product one training step of the mlp and the cnn runs
/// at the suite's batch (128; 4 with `quick`), as the launcher records them, the first of
/// each shape class. Those `main_dot` takes are left out: the table does not choose for them.
pub async fn matmul_shapes(gpu: &Gpu, quick: bool) -> Result<Vec<MatmulShape>> {
    let (squares, batch) = if quick { (vec![64, 128], 4) } else { (vec![256, 512, 1024], 128) };
    let mut shapes: Vec<MatmulShape> = squares.into_iter().map(|n| (MatmulForm::NN, n, n, n, false)).collect();
    for model in ["mlp", "cnn"] {
        let (x, y) = shaped_batch(gpu, batch, super::inference::bench_input(model));
        let (loss, correct) = (gpu.empty(&[batch]), gpu.empty_u32(&[batch]));
        let Ok(mut trainer) = StepTrainer::new(gpu, model, None, None).await? else { unreachable!("a dense model always builds") };
        record_shapes(true);
        trainer.step(gpu, &x, &y, &loss, &correct);
        shapes.extend(record_shapes(false));
        gpu.read_f32(&loss).await?;
    }
    let mut classes = Vec::new();
    shapes.retain(|&(form, m, n, k, acc)| {
        let class = MatmulTable::class(form, m, n, k, acc);
        let keep = !takes_dot(form, m, n, k) && m > 0 && n > 0 && k > 0 && !classes.contains(&class);
        classes.push(class);
        keep
    });
    Ok(shapes)
}

/// What `tune_matmul` found for one shape class: the class, the shape measured, and each
/// candidate with its speed-up over the default launch (the default first, at 1).
pub type MatmulReport<'a> = &'a mut dyn FnMut(&str, &MatmulShape, &[(MatmulConfig, f64)]);

/// Least speed-up over the default launch that a candidate must show to be cached: below
/// it, the difference is within what a shared CPU's drift makes of one measurement.
const MIN_SPEEDUP: f64 = 1.05;

/// Measure the matmul tune table on this adapter: for each shape of `matmul_shapes`, every
/// candidate launch (`MatmulConfig::candidates`) timed run for run against the default one,
/// and the class's winner (the default unless one is `MIN_SPEEDUP` faster).
pub async fn tune_matmul(gpu: &Gpu, quick: bool, runs: usize, report: MatmulReport<'_>) -> Result<MatmulTable> {
    let cpu = gpu.info.device_type == wgpu::DeviceType::Cpu;
    let shapes = matmul_shapes(gpu, quick).await?;
    let mut choices = BTreeMap::new();
    for shape in &shapes {
        let &(form, m, n, k, acc) = shape;
        let (a, b) = (gpu.upload(&random(m * k, 1), &[m * k]), gpu.upload(&random(k * n, 2), &[k * n]));
        let c = gpu.zeros(&[m * n]);
        let candidates = MatmulConfig::candidates(cpu, m, n, k);
        let default = candidates[0];
        let mut measured = vec![(default, 1.0)];
        let mut best = (default, 1.0, 0.0);
        for &config in &candidates[1..] {
            let (t, _, speedup) = time_paired(gpu, 1, runs, || matmul_config(gpu, config, form, &a, &b, &c, m, n, k, acc), || matmul_config(gpu, default, form, &a, &b, &c, m, n, k, acc)).await?;
            measured.push((config, speedup));
            if speedup > best.1 {
                best = (config, speedup, t.median_ms);
            }
        }
        let class = MatmulTable::class(form, m, n, k, acc);
        report(&class, shape, &measured);
        let (config, speedup, ms) = if best.1 >= MIN_SPEEDUP { best } else { (default, 1.0, 0.0) };
        choices.insert(class, MatmulChoice { config, shape: format!("{m} x {n} x {k}"), ms, speedup });
    }
    let what = if quick { "the quick suite's products" } else { "matmul/f32/{256,512,1024} and the products of one mlp and cnn training step at batch 128" };
    Ok(MatmulTable { version: MATMUL_TABLE_VERSION, adapter: gpu.adapter_label(), source: format!("aer tune: {} shape classes of {what}, {runs} paired runs each", shapes.len()), choices })
}

/// What `tune_cutoffs` measured: the cutoff's name, then (size, measured ms, dense ms) per size.
pub type CutoffReport<'a> = &'a mut dyn FnMut(&str, &[(usize, f64, f64)]);

/// Measure where layers change kernels on this adapter (`Cutoffs`), each alternative timed run
/// by run against the dense product it replaces:
/// - winners-take-all on cnn's fc1 (256 x 1568, 16 of 32 channels of 49 inputs kept):
///   `skip_linear` against the dense product at batches 1, 2, 4, ... 64; the cutoff is the
///   largest batch up to which skipping is faster at every batch tried (0: never);
/// - quantization-aware training's packed forward product (pack, then the ternary product)
///   against the dense product of the dequantized weights at batch 128, on linear layers from
///   100 x 300 to 1024 x 1024 weights; the cutoff is the smallest layer from which packing is
///   faster at every larger one (`usize::MAX`: never). Only where the adapter runs the wide
///   ternary kernel, the one packed training uses; elsewhere the shipped value stays.
pub async fn tune_cutoffs(gpu: &Gpu, quick: bool, runs: usize, report: CutoffReport<'_>) -> Result<Cutoffs> {
    use crate::kernels::{self as k, SkipShape, TernaryGroups, TernaryVariant};
    let upload = |n: usize, seed: u64| gpu.upload(&random(n, seed), &[n]);
    let mut sources = Vec::new();

    let (out, inp, g) = if quick { (64, 128, 8) } else { (256, 1568, 49) };
    let channels = inp / g;
    let w = upload(out * inp, 1);
    let mut skip = Vec::new();
    let mut max_batch = 0;
    for batch in [1usize, 2, 4, 8, 16, 32, 64] {
        let s = SkipShape { n: batch, m: out, k: inp, g, keep: channels / 2, p: 1 };
        let x = upload(batch * inp, 2);
        // Every example keeps the even channels.
        let kept: Vec<u32> = (0..batch).flat_map(|_| (0..channels as u32).step_by(2)).collect();
        let kept = gpu.upload_u32(&kept, &[batch, channels / 2]);
        let y = gpu.empty(&[batch, out]);
        let (t, dense, _) = time_paired(gpu, 2, runs, || k::skip_linear(gpu, s, &w, &x, &kept, &y), || k::matmul(gpu, MatmulForm::NT, &x, &w, &y, batch, out, inp, false)).await?;
        skip.push((batch, t.median_ms, dense.median_ms));
        if t.median_ms >= dense.median_ms {
            break;
        }
        max_batch = batch;
    }
    report("skip_linear_max_batch (batch)", &skip);
    sources.push(format!("channel skipping on {out} x {inp}"));

    let shipped = Cutoffs::shipped();
    let mut min_weights = shipped.packed_training_min_weights;
    if TernaryVariant::for_gpu(gpu) == TernaryVariant::Wide {
        let (batch, shapes): (usize, &[(usize, usize)]) = if quick { (8, &[(32, 64), (64, 128)]) } else { (128, &[(100, 300), (300, 784), (512, 512), (256, 1568), (1024, 1024)]) };
        let mut packed = Vec::new();
        for &(n, kk) in shapes {
            let (w, x, y) = (upload(n * kk, 3), upload(batch * kk, 4), gpu.empty(&[batch, n]));
            let groups = TernaryGroups { n, k: kk, groups: 1 };
            let (delta, pos, neg) = (gpu.upload(&[0.3], &[1]), gpu.upload(&[0.6], &[1]), gpu.upload(&[0.6], &[1]));
            let pack_and_multiply = || {
                let pk = k::ternary_pack(gpu, groups, &w, &delta, &pos, &neg, false);
                k::ternary_matmul(gpu, &x, &pk, &y, batch, k::ActivationLayout::LINEAR);
            };
            let (t, dense, _) = time_paired(gpu, 2, runs, pack_and_multiply, || k::matmul(gpu, MatmulForm::NT, &x, &w, &y, batch, n, kk, false)).await?;
            packed.push((n * kk, t.median_ms, dense.median_ms));
        }
        report("packed_training_min_weights (weights)", &packed);
        // The smallest size from which packing wins at every larger size tried.
        min_weights = usize::MAX;
        for &(size, ms, dense) in packed.iter().rev() {
            if ms >= dense {
                break;
            }
            min_weights = size;
        }
        sources.push(format!("packed training at batch {batch}"));
    } else {
        sources.push("packed training not measured: this adapter runs the narrow ternary kernel".into());
    }
    Ok(Cutoffs { adapter: gpu.adapter_label(), source: format!("aer tune: {}", sources.join("; ")), skip_linear_max_batch: max_batch, packed_training_min_weights: min_weights })
}
