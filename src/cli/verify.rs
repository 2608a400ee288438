//! `aer verify`: interval-bound verification of a checkpoint beside clean and PGD robust
//! accuracy, per radius, with the per-example check verified <= PGD <= clean.

use super::common::{load_data, open, report, restore_for, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs, SplitArg};
use super::progress::work_bar;
use crate::attack::{evaluate_robustness, AttackConfig};
use crate::files::write_json;
use crate::kernels::Norm;
use crate::train::Checkpoint;
use crate::verify::verify as verify_data;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to verify (.safetensors written by `aer train`).
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Verify N examples spread evenly over the split (every class in them) [default: all].
    #[arg(help_heading = "Data", long)]
    pub n: Option<usize>,
    /// The split to evaluate on: test, or val (held out of the training images).
    #[arg(help_heading = "Data", long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// L-inf radii, comma-separated (several give a verified-accuracy curve).
    #[arg(help_heading = "Verification", long, value_delimiter = ',', default_value = "0.1", value_parser = super::options::radius)]
    pub eps: Vec<f32>,
    /// Steps of the PGD attack run beside the bounds (0 skips it).
    #[arg(help_heading = "Verification", long, default_value_t = 40)]
    pub pgd_steps: usize,
    /// PGD step [default: 2.5 eps / steps].
    #[arg(help_heading = "Verification", long)]
    pub pgd_step: Option<f32>,
    /// Seed of the random starts and draws.
    #[arg(help_heading = "Verification", long, default_value_t = 0)]
    pub seed: u64,
    /// Examples per batch on the GPU.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Directory for the results, <name>-verify.json [default: the checkpoint's directory; runs/<name>/
    /// for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &VerifyArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    if let Some(e) = args.eps.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        return Err(AerError::Invalid(format!("--eps {e}: radii must be finite and at least 0")));
    }
    let ck = Checkpoint::load(&args.checkpoint)?;
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-verify.json")?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let model = restore_for(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let (split_name, split) = args.split.pick_some(&splits)?;
    // Spread over the split, so every class is in a subset (a prefix of a file in class order is not).
    let data = split.spread(args.n.unwrap_or(split.len()));
    if data.is_empty() {
        return Err(AerError::Invalid("--n 0 leaves nothing to verify".into()));
    }
    eprintln!("verifying {} ({}, epoch {}) on {} {split_name} examples spread over the split", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len());
    let batches = data.len().div_ceil(args.batch_size.max(1));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for &eps in &args.eps {
        let bar = work_bar(&format!("IBP eps {eps}"), batches, "batches");
        let v = block_on(verify_data(&gpu, &model, &data, eps, args.batch_size, &mut |d, _| bar.set_position(d as u64)))?;
        bar.finish_and_clear();
        let pgd = if args.pgd_steps > 0 && eps > 0.0 {
            let step = args.pgd_step.unwrap_or(2.5 * eps / args.pgd_steps as f32);
            let cfg = AttackConfig::pgd(Norm::Linf, eps, step, args.pgd_steps, args.seed);
            let bar = work_bar(&format!("{} eps {eps}", cfg.label()), batches, "batches");
            let r = block_on(evaluate_robustness(&gpu, &model, &data, std::slice::from_ref(&cfg), args.batch_size, &mut |d, _| bar.set_position(d as u64)))?;
            bar.finish_and_clear();
            Some((cfg, r))
        } else {
            None
        };
        let robust = pgd.as_ref().map(|(_, r)| r.worst_robust.clone());
        let found = v.soundness(robust.as_deref());
        let pgd_acc = pgd.as_ref().map(|(_, r)| r.worst_accuracy());
        let mut margins: Vec<f32> = v.margin_lower.iter().copied().filter(|m| m.is_finite()).collect();
        margins.sort_by(f32::total_cmp);
        let median_margin = margins.get(margins.len() / 2).copied();
        eprintln!(
            "eps {eps}: clean {:.2}%  {}verified {:.2}%  ({:.1} s)",
            100.0 * v.clean_accuracy(),
            pgd.as_ref().map_or(String::new(), |(c, r)| format!("{} {:.2}%  ", c.label(), 100.0 * r.worst_accuracy())),
            100.0 * v.verified_accuracy(),
            v.seconds
        );
        for p in found.iter().take(5) {
            eprintln!("  UNSOUND: {p}");
        }
        rows.push(json!({
            "eps": eps,
            "clean_accuracy": v.clean_accuracy(),
            "pgd": pgd.as_ref().map(|(c, _)| json!({"config": c, "robust_accuracy": pgd_acc})),
            "verified_accuracy": v.verified_accuracy(),
            "median_margin_lower_bound": median_margin,
            "seconds": v.seconds,
            "order_holds": found.is_empty(),
        }));
        problems.extend(found);
    }
    let results = report(&args.checkpoint, &ck, &gpu, split_name, data.len(), json!({
        "method": "interval bound propagation (Gowal et al. 2018), last layer folded into the margins",
        "results": rows,
        "soundness_problems": problems,
    }));
    write_json(&out, &results)?;
    eprintln!("wrote {}", out.display());
    if !problems.is_empty() {
        return Err(AerError::Invalid(format!("{} examples break verified <= PGD <= clean: the bounds are not sound (see {})", problems.len(), out.display())));
    }
    Ok(())
}
