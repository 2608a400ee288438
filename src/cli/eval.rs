//! `aer eval`: accuracy, calibration (ECE, NLL, Brier; temperature-scaled too when the
//! checkpoint holds a temperature), cost per example and input sparsity of a checkpoint, the
//! mask distance to another, and the metrics of an ensemble, Monte Carlo dropout or test-time
//! augmentation; a reliability diagram and JSON results on request.

use super::common::{load_data, open, report, restore_members, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs, SplitArg};
use crate::nn::ModelSpec;
use crate::train::Checkpoint;
use crate::uncertainty::{calibration, logits, member_logits, predict_mean, reliability, Pass, Views, ECE_BINS};
use crate::{AerError, Result};
use serde_json::json;
use clap::Args;
use pollster::block_on;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint file (.safetensors) written by `aer train`.
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Refuse the checkpoint unless it holds this model (a preset name or TOML file).
    #[arg(help_heading = "Model", long)]
    pub model: Option<String>,
    /// The split to evaluate on: test, or val (held out of the training images).
    #[arg(help_heading = "Data", long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Examples per batch on the GPU.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Also print the mask distance to this checkpoint of the same model: per weight tensor
    /// and overall, the share of weights one keeps and the other prunes.
    #[arg(help_heading = "Model", long)]
    pub mask_distance: Option<PathBuf>,
    /// A packed checkpoint's ternary layers read and write half-precision activations
    /// (adapters with shader-f16).
    #[arg(help_heading = "Run", long)]
    pub f16_activations: bool,
    /// Weight layers after a winners-take-all layer compute with every input channel (the
    /// dropped ones are zero) instead of skipping the dropped ones: to compare the two.
    #[arg(help_heading = "Run", long)]
    pub all_channels: bool,
    /// Also evaluate the ensemble of the checkpoint with these (comma-separated; one
    /// architecture, input shape and class count), averaged in probability.
    #[arg(help_heading = "Uncertainty", long, value_delimiter = ',', num_args = 1..)]
    pub ensemble: Vec<PathBuf>,
    /// Also evaluate Monte Carlo dropout: the mean of K forward passes with dropout active
    /// (the model needs a dropout layer).
    #[arg(help_heading = "Uncertainty", long, value_name = "K", value_parser = at_least_one)]
    pub mc_dropout: Option<usize>,
    /// Also evaluate test-time augmentation: the mean over K augmented copies of each image
    /// (random crops with zero padding of 2 pixels, 4 and left-right flips for colour images).
    #[arg(help_heading = "Uncertainty", long, value_name = "K", value_parser = at_least_one)]
    pub tta: Option<usize>,
    /// Seed of the dropout masks and augmentations of --mc-dropout and --tta.
    #[arg(help_heading = "Uncertainty", long, default_value_t = 0)]
    pub seed: u32,
    /// Write the reliability diagram (15 confidence bins) as <stem>-reliability.svg into the
    /// output directory.
    #[arg(help_heading = "Uncertainty", long)]
    pub reliability: bool,
    /// Write the results as <stem>-eval.json into this directory (created if missing); the
    /// reliability diagram goes there too [default for --reliability: the checkpoint's run
    /// directory, runs/<stem>/ for a shipped checkpoint].
    #[arg(help_heading = "Run", long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &EvalArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    let ck = Checkpoint::load(&args.checkpoint)?;
    if let Some(m) = &args.model {
        let want = ModelSpec::load(m)?;
        if want != ck.spec {
            return Err(AerError::checkpoint(&args.checkpoint, format!("holds model '{}', not the requested '{}'", ck.spec.name, want.name)));
        }
    }
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let paths: Vec<PathBuf> = std::iter::once(args.checkpoint.clone()).chain(args.ensemble.iter().cloned()).collect();
    let (cks, mut models) = restore_members(&gpu, &paths, splits.train.shape, splits.classes, dense_kernels)?;
    for (m, p) in models.iter_mut().zip(&paths) {
        if args.f16_activations {
            m.use_f16_activations(&gpu, true).map_err(|e| AerError::checkpoint(p, e.to_string()))?;
        }
        m.use_channel_skip(!args.all_channels);
        if args.mc_dropout.is_some() {
            crate::uncertainty::check_dropout(m).map_err(|e| AerError::checkpoint(p, e.to_string()))?;
        }
    }
    let model = &models[0];
    let (name, data) = args.split.pick_some(&splits)?;
    let t = Instant::now();
    let plain = block_on(logits(&gpu, model, data, args.batch_size, &Pass::default()))?;
    let secs = t.elapsed().as_secs_f64();
    let probs = plain.probabilities(1.0);
    let cal = calibration(&probs);
    println!("{name} accuracy: {:.2}% ({} examples, {secs:.2} s)", 100.0 * cal.accuracy, data.len());
    println!("calibration: ECE {:.4} ({ECE_BINS} bins), NLL {:.4}, Brier {:.4}", cal.ece, cal.nll, cal.brier);
    let scaled = ck.temperature.map(|t| (t, calibration(&plain.probabilities(t as f64))));
    if let Some((t, c)) = &scaled {
        println!("temperature {t:.4} (stored by aer calibrate): {c}");
    }
    let views = Views { mc_dropout: args.mc_dropout, tta: args.tta, seed: args.seed };
    let combined = if models.len() > 1 || args.mc_dropout.is_some() || args.tta.is_some() {
        let refs: Vec<&crate::nn::Model> = models.iter().collect();
        let passes = block_on(member_logits(&gpu, &refs, data, args.batch_size, &views))?;
        let raw = calibration(&predict_mean(&passes, &[])?);
        let what = combination(models.len(), &views);
        println!("{what}: {raw}");
        let temps: Vec<f64> = cks.iter().map(|c| c.temperature.unwrap_or(1.0) as f64).collect();
        let scaled = cks.iter().any(|c| c.temperature.is_some()).then(|| predict_mean(&passes, &temps).map(|p| calibration(&p))).transpose()?;
        if let Some(c) = &scaled {
            println!("{what}, each member at its stored temperature: {c}");
        }
        Some(json!({"what": what, "members": paths, "mc_dropout": args.mc_dropout, "tta": args.tta, "seed": args.seed, "calibration": raw, "temperature_scaled": scaled}))
    } else {
        None
    };
    let bins = reliability(&probs, ECE_BINS);
    if args.reliability {
        let svg_path = results_path(&args.checkpoint, args.out.as_deref(), "-reliability.svg")?;
        let title = format!("Reliability: {} ({name}, ECE {:.4})", args.checkpoint.file_stem().unwrap_or_default().to_string_lossy(), cal.ece);
        crate::files::write_atomic(&svg_path, crate::report::reliability_svg(&bins, &title).as_bytes())?;
        eprintln!("wrote {}", svg_path.display());
    }
    if args.out.is_some() {
        let out = results_path(&args.checkpoint, args.out.as_deref(), "-eval.json")?;
        let body = json!({"calibration": cal, "temperature": ck.temperature, "temperature_scaled": scaled.map(|s| s.1), "reliability": bins, "combined": combined, "seconds": secs});
        crate::files::write_atomic(&out, crate::files::to_json_pretty(&report(&args.checkpoint, &cks[0], &gpu, name, data.len(), body)).as_bytes())?;
        eprintln!("wrote {}", out.display());
    }
    let rep = block_on(crate::sparse::sparsity_report(&gpu, model))?;
    println!(
        "cost per example: {:.2} MFLOP dense, {:.2} after weight sparsity ({:.1}% of weights pruned), {:.2} after activation sparsity, {:.2} executed; {:.1} us measured (forward, batches of {})",
        2e-6 * rep.dense_macs as f64,
        2e-6 * rep.sparse_macs as f64,
        100.0 * rep.sparsity,
        2e-6 * rep.activation_sparse_macs as f64,
        2e-6 * model.executed_weights_macs(args.batch_size) as f64,
        1e6 * secs / data.len().max(1) as f64,
        args.batch_size
    );
    // Zeros in the weight layers' inputs, measured on the first examples of the split.
    let probe = data.head(data.len().min(args.batch_size.max(256)).min(model.max_batch(gpu.limits.max_storage_buffer_binding_size)));
    let (mut x, mut y) = (Vec::new(), Vec::new());
    probe.gather(&(0..probe.len() as u32).collect::<Vec<_>>(), &mut x, &mut y);
    let densities = block_on(model.input_densities(&gpu, gpu.upload(&x, &[probe.len(), probe.shape[0], probe.shape[1], probe.shape[2]])))?;
    let mut names: Vec<&String> = densities.keys().collect();
    names.sort_by_key(|n| rep.layers.iter().position(|l| &&l.name == n));
    let measured = rep.input_sparse_macs(&densities);
    println!(
        "nonzero inputs of each weight layer (first {} examples): {}; {:.2} MFLOP per example skipping both zero weights and zero activations",
        probe.len(),
        names.iter().map(|n| format!("{n} {:.1}%", 100.0 * densities[*n])).collect::<Vec<_>>().join(", "),
        2e-6 * measured
    );
    if let Some(other) = &args.mask_distance {
        let o = Checkpoint::load(other)?;
        if o.spec != ck.spec {
            return Err(AerError::checkpoint(other, format!("holds model '{}', not '{}': mask distances compare checkpoints of one model", o.spec.name, ck.spec.name)));
        }
        let (a, b) = (ck.kept(), o.kept());
        let (mut differ, mut total) = (0.0, 0usize);
        for (name, ka) in &a {
            let Some(kb) = b.get(name) else { continue };
            let d = crate::sparse::mask_distance(ka, kb);
            println!("mask distance {name}: {d:.4} ({} of {} weights kept here, {} there)", ka.iter().filter(|&&k| k).count(), ka.len(), kb.iter().filter(|&&k| k).count());
            differ += d * ka.len() as f64;
            total += ka.len();
        }
        println!("mask distance overall: {:.4}", differ / total.max(1) as f64);
    }
    Ok(())
}

/// What an averaged prediction averages, in words: "ensemble of 3, MC dropout x10, TTA x4".
fn combination(members: usize, views: &Views) -> String {
    let mut parts = Vec::new();
    if members > 1 {
        parts.push(format!("ensemble of {members}"));
    }
    if let Some(k) = views.mc_dropout {
        parts.push(format!("MC dropout x{k}"));
    }
    if let Some(k) = views.tta {
        parts.push(format!("TTA x{k}"));
    }
    parts.join(", ")
}
