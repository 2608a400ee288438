//! `aer verify`: interval-bound verification of a checkpoint beside clean and PGD robust
//! accuracy, per radius, with the per-example check verified <= PGD <= clean. `aer corrupt`:
//! the per-layer parameter-vulnerability table.

use super::args::{CorruptArgs, SplitArg, VerifyArgs};
use super::attack::restore_for;
use super::commands::{load_data, open};
use super::progress::work_bar;
use crate::attack::{evaluate_robustness, AttackConfig};
use crate::gpu::AdapterChoice;
use crate::kernels::Norm;
use crate::train::{write_atomic, Checkpoint};
use crate::verify::verify as verify_data;
use crate::{AerError, Result};
use pollster::block_on;
use serde_json::json;

pub fn verify(choice: &AdapterChoice, args: &VerifyArgs, dense_kernels: bool) -> Result<()> {
    if let Some(e) = args.eps.iter().find(|e| !(e.is_finite() && **e >= 0.0)) {
        return Err(AerError::Invalid(format!("--eps {e}: radii must be finite and at least 0")));
    }
    let ck = Checkpoint::load(&args.checkpoint)?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let model = restore_for(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let (split_name, split) = if args.split == SplitArg::Val { ("validation", &splits.val) } else { ("test", &splits.test) };
    let data = split.head(args.n.unwrap_or(split.len()));
    if data.is_empty() {
        return Err(AerError::Invalid("--n 0 leaves nothing to verify".into()));
    }
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args.checkpoint.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        args.checkpoint.with_file_name(format!("{stem}-verify.json"))
    });
    eprintln!("verifying {} ({}, epoch {}) on the first {} {split_name} examples", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len());
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
            let r = block_on(evaluate_robustness(&gpu, &model, &data, &[cfg.clone()], args.batch_size, &mut |d, _| bar.set_position(d as u64)))?;
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
    let report = json!({
        "checkpoint": args.checkpoint,
        "model": ck.spec.name,
        "adapter": gpu.adapter_label(),
        "split": split_name,
        "examples": data.len(),
        "method": "interval bound propagation (Gowal et al. 2018), last layer folded into the margins",
        "results": rows,
        "soundness_problems": problems,
    });
    write_atomic(&out, serde_json::to_string_pretty(&report).unwrap().as_bytes())?;
    eprintln!("wrote {}", out.display());
    if !problems.is_empty() {
        return Err(AerError::Invalid(format!("{} examples break verified <= PGD <= clean: the bounds are not sound (see {})", problems.len(), out.display())));
    }
    Ok(())
}

pub fn corrupt(choice: &AdapterChoice, args: &CorruptArgs, dense_kernels: bool) -> Result<()> {
    use crate::faults::{vulnerability_table, CorruptionConfig};
    if let Some(r) = args.rho.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
        return Err(AerError::Invalid(format!("--rho {r}: relative radii must be finite and at least 0")));
    }
    if args.n == 0 {
        return Err(AerError::Invalid("--n 0 leaves no examples to measure the loss on".into()));
    }
    let ck = Checkpoint::load(&args.checkpoint)?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let model = restore_for(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let (split_name, split) = if args.split == SplitArg::Val { ("validation", &splits.val) } else { ("test", &splits.test) };
    let most = model.max_batch(gpu.limits.max_storage_buffer_binding_size);
    if args.n.min(split.len()) > most {
        return Err(AerError::Invalid(format!("--n {}: the loss is measured in one batch, and this model's activations fit at most {most} examples on this adapter; give --n {most} or less", args.n)));
    }
    let data = split.head(args.n);
    let (x, y, _) = crate::attack::upload_range(&gpu, &data, 0..data.len());
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args.checkpoint.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        args.checkpoint.with_file_name(format!("{stem}-corrupt.json"))
    });
    let norm = super::commands::norm(args.norm);
    eprintln!("corrupting {} ({}, epoch {}) on the first {} {split_name} examples, {norm:?}, {} ascent steps, {} random draws", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len(), args.steps, args.random);
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
    let report = json!({
        "checkpoint": args.checkpoint,
        "model": ck.spec.name,
        "adapter": gpu.adapter_label(),
        "split": split_name,
        "examples": data.len(),
        "method": "parameter corruption (Sun et al. 2021): gradient ascent on the weights vs random perturbations of the same radius",
        "tables": tables,
    });
    write_atomic(&out, serde_json::to_string_pretty(&report).unwrap().as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
