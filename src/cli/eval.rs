//! `aer eval`: accuracy, cost per example and input sparsity of a checkpoint, and the mask
//! distance to another.

use super::common::{block_sparse, load_data, open};
use super::options::{at_least_one, DataArgs, GpuArgs, SplitArg};
use crate::nn::ModelSpec;
use crate::train::{evaluate, Checkpoint};
use crate::{AerError, Result};
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
    ck.check_data(splits.train.shape, splits.classes, &args.checkpoint)?;
    let (mut model, _) = ck.restore(&gpu)?;
    block_sparse(&gpu, &mut model, dense_kernels)?;
    if args.f16_activations {
        model.use_f16_activations(&gpu, true).map_err(|e| AerError::checkpoint(&args.checkpoint, e.to_string()))?;
    }
    model.use_channel_skip(!args.all_channels);
    let (name, data) = args.split.pick_some(&splits)?;
    let t = Instant::now();
    let r = block_on(evaluate(&gpu, &model, data, args.batch_size))?;
    let secs = t.elapsed().as_secs_f64();
    println!("{name} accuracy: {:.2}% ({} examples, {secs:.2} s)", 100.0 * r.accuracy, data.len());
    let rep = block_on(crate::sparse::sparsity_report(&gpu, &model))?;
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
