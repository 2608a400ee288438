//! `aer corrupt`: the per-layer parameter-vulnerability table of a checkpoint.

use super::common::{load_data, open, report, restore_stored, results_path};
use super::options::{DataArgs, GpuArgs, SplitArg};
use crate::files::write_json;
use crate::kernels::Norm;
use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CorruptArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to corrupt (.safetensors written by `aer train`).
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Measure on N examples spread evenly over the split (every class in them; one batch).
    #[arg(help_heading = "Data", long, default_value_t = 256)]
    pub n: usize,
    /// The split to evaluate on: test, or val (held out of the training images).
    #[arg(help_heading = "Data", long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// l2: radius rho times the clean weights' norm; linf: rho times each layer's RMS weight.
    #[arg(help_heading = "Corruption", long, value_enum, default_value_t = Norm::L2)]
    pub norm: Norm,
    /// Relative radii, comma-separated.
    #[arg(help_heading = "Corruption", long, value_delimiter = ',', default_value = "0.05")]
    pub rho: Vec<f32>,
    /// Gradient ascent steps.
    #[arg(help_heading = "Corruption", long, default_value_t = 10)]
    pub steps: usize,
    /// Random perturbations for comparison.
    #[arg(help_heading = "Corruption", long, default_value_t = 10)]
    pub random: usize,
    /// Seed of the random starts and draws.
    #[arg(help_heading = "Corruption", long, default_value_t = 0)]
    pub seed: u64,
    /// Directory for the results, <name>-corrupt.json [default: the checkpoint's directory; runs/<name>/
    /// for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &CorruptArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    use crate::faults::{vulnerability_table, CorruptionConfig};
    if let Some(r) = args.rho.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
        return Err(AerError::Invalid(format!("--rho {r}: relative radii must be finite and at least 0")));
    }
    if args.n == 0 {
        return Err(AerError::Invalid("--n 0 leaves no examples to measure the loss on".into()));
    }
    let ck = Checkpoint::load(&args.checkpoint)?;
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-corrupt.json")?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let model = restore_stored(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let (split_name, split) = args.split.pick_some(&splits)?;
    let most = model.max_batch(gpu.limits.max_storage_buffer_binding_size);
    if args.n.min(split.len()) > most {
        return Err(AerError::Invalid(format!("--n {}: the loss is measured in one batch, and this model's activations fit at most {most} examples on this adapter; give --n {most} or less", args.n)));
    }
    // Spread over the split, so every class is in a subset (a prefix of a file in class order is not).
    let data = split.spread(args.n);
    let (x, y, _) = crate::attack::upload_range(&gpu, &data, 0..data.len());
    let norm = args.norm;
    eprintln!("corrupting {} ({}, epoch {}) on {} {split_name} examples spread over the split, {norm:?}, {} ascent steps, {} random draws", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len(), args.steps, args.random);
    let mut tables = Vec::new();
    for &rho in &args.rho {
        let cfg = CorruptionConfig { norm, rho, steps: args.steps, random: args.random, seed: args.seed };
        let rows = block_on(vulnerability_table(&gpu, &model, &x, &y, &cfg))?;
        println!("rho {rho} ({norm:?}):");
        println!("  {:<14} {:>8} {:>9} {:>8} {:>14} {:>9} {:>14} {:>9}", "weights", "count", "radius", "loss", "+loss gradient", "accuracy", "+loss random", "accuracy");
        for r in &rows {
            println!(
                "  {:<14} {:>8} {:>9.4} {:>8.4} {:>14.4} {:>8.2}% {:>14.4} {:>8.2}%",
                r.scope, r.weights, r.radius, r.clean_loss, r.worst_loss - r.clean_loss, 100.0 * r.worst_accuracy, r.random_loss_max - r.clean_loss, 100.0 * r.random_accuracy_mean
            );
        }
        tables.push(json!({"rho": rho, "config": cfg, "rows": rows}));
    }
    let results = report(&args.checkpoint, &ck, &gpu, split_name, data.len(), json!({
        "method": "parameter corruption (Sun et al. 2021): gradient ascent on the weights vs random perturbations of the same radius",
        "tables": tables,
    }));
    write_json(&out, &results)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
