//! `aer verify`: interval-bound verification of a checkpoint beside clean and PGD robust
//! accuracy, per radius, with the per-example check verified <= PGD <= clean. `aer corrupt`:
//! the per-layer parameter-vulnerability table. `aer faults`: bit flips and approximate
//! multipliers.

use crate::files::write_atomic;
use super::args::{CorruptArgs, FaultsArgs, StorageArg, VerifyArgs};
use super::attack::{beside, report, restore_for};
use super::commands::{load_data, open};
use super::progress::work_bar;
use crate::attack::{evaluate_robustness, AttackConfig};
use crate::gpu::AdapterChoice;
use crate::kernels::Norm;
use crate::train::Checkpoint;
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
    let (split_name, split) = args.split.pick(&splits);
    let data = split.head(args.n.unwrap_or(split.len()));
    if data.is_empty() {
        return Err(AerError::Invalid("--n 0 leaves nothing to verify".into()));
    }
    let out = args.out.clone().unwrap_or_else(|| beside(&args.checkpoint, "-verify.json"));
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
    let results = report(&args.checkpoint, &ck, &gpu, split_name, data.len(), json!({
        "method": "interval bound propagation (Gowal et al. 2018), last layer folded into the margins",
        "results": rows,
        "soundness_problems": problems,
    }));
    write_atomic(&out, serde_json::to_string_pretty(&results).unwrap().as_bytes())?;
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
    let (split_name, split) = args.split.pick(&splits);
    let most = model.max_batch(gpu.limits.max_storage_buffer_binding_size);
    if args.n.min(split.len()) > most {
        return Err(AerError::Invalid(format!("--n {}: the loss is measured in one batch, and this model's activations fit at most {most} examples on this adapter; give --n {most} or less", args.n)));
    }
    let data = split.head(args.n);
    let (x, y, _) = crate::attack::upload_range(&gpu, &data, 0..data.len());
    let out = args.out.clone().unwrap_or_else(|| beside(&args.checkpoint, "-corrupt.json"));
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
    let results = report(&args.checkpoint, &ck, &gpu, split_name, data.len(), json!({
        "method": "parameter corruption (Sun et al. 2021): gradient ascent on the weights vs random perturbations of the same radius",
        "tables": tables,
    }));
    write_atomic(&out, serde_json::to_string_pretty(&results).unwrap().as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

pub fn faults(choice: &AdapterChoice, args: &FaultsArgs, dense_kernels: bool) -> Result<()> {
    use crate::faults::{bit_flip_curve, multiplier_curve, FaultPoint, ProductTable, Storage};
    if let Some(r) = args.rates.iter().find(|r| !(0.0..=1.0).contains(*r)) {
        return Err(AerError::Invalid(format!("--rates {r}: flip probabilities are in [0, 1]")));
    }
    let tables = args.multipliers.iter().map(|m| ProductTable::parse(m)).collect::<Result<Vec<_>>>()?;
    let ck = Checkpoint::load(&args.checkpoint)?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let mut model = restore_for(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let (split_name, split) = args.split.pick(&splits);
    let data = split.head(args.n);
    if data.is_empty() {
        return Err(AerError::Invalid("--n 0 leaves nothing to evaluate".into()));
    }
    let storage: Vec<Storage> = match &args.storage {
        Some(v) => v.iter().map(|s| match s { StorageArg::F32 => Storage::F32, StorageArg::F16 => Storage::F16, StorageArg::Ternary => Storage::Ternary }).collect(),
        None if !model.packed().is_empty() => vec![Storage::Ternary],
        None => vec![Storage::F32, Storage::F16],
    };
    let attack = (args.eps > 0.0 && args.pgd_steps > 0).then(|| AttackConfig::pgd(Norm::Linf, args.eps, 2.5 * args.eps / args.pgd_steps as f32, args.pgd_steps, args.seed));
    let out = args.out.clone().unwrap_or_else(|| beside(&args.checkpoint, "-faults.json"));
    eprintln!("fault injection into {} ({}, epoch {}) on the first {} {split_name} examples{}", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len(), attack.as_ref().map_or(String::new(), |a| format!(", {} at eps {}", a.label(), a.eps)));
    let print = |p: &FaultPoint| {
        println!("  {:<28} accuracy {:>6.2}% (min {:>6.2}%){}", p.label, 100.0 * p.accuracy, 100.0 * p.accuracy_min, p.robust_accuracy.map_or(String::new(), |r| format!("  robust {:>6.2}%", 100.0 * r)));
    };
    let mut curves = Vec::new();
    for s in storage {
        println!("bit flips, {s:?} storage ({} patterns per rate):", args.trials);
        let points = block_on(bit_flip_curve(&gpu, &mut model, &data, s, &args.rates, args.trials, attack.as_ref(), args.seed, args.batch_size))?;
        points.iter().for_each(print);
        curves.push(json!({"storage": s, "points": points}));
    }
    let multipliers = if tables.is_empty() {
        Vec::new()
    } else {
        println!("approximate multipliers (8-bit operands):");
        let points = block_on(multiplier_curve(&gpu, &mut model, &data, &tables, attack.as_ref(), args.batch_size))?;
        for p in &points {
            print(p);
            if let Some(e) = &p.multiplier_error {
                println!("  {:<28} error rate {:.2}%, mean relative error {:.3}%", "", 100.0 * e.error_rate, 100.0 * e.mean_relative_error);
            }
        }
        points
    };
    // Faults break gradients (NaN, saturated or table-quantized products): an attack weakened
    // that way is not robustness.
    let base = curves.iter().filter_map(|c| c["points"][0]["robust_accuracy"].as_f64()).fold(f64::NAN, f64::min);
    let masked: Vec<String> = curves
        .iter()
        .flat_map(|c| c["points"].as_array().cloned().unwrap_or_default())
        .chain(multipliers.iter().map(|p| serde_json::to_value(p).unwrap()))
        .filter(|p| p["robust_accuracy"].as_f64().is_some_and(|r| r > base + 0.05))
        .map(|p| p["label"].as_str().unwrap_or("").to_string())
        .collect();
    if !masked.is_empty() {
        eprintln!("warning: robust accuracy rises above the fault-free model's under {}: the faults mask the attack's gradients (multipliers: the attack differentiates the exact products), so these robust figures are upper bounds, not robustness", masked.join(", "));
    }
    let results = report(&args.checkpoint, &ck, &gpu, split_name, data.len(), json!({
        "attack": attack,
        "gradient_masking_suspected": masked,
        "bit_flips": curves,
        "multipliers": multipliers,
    }));
    write_atomic(&out, serde_json::to_string_pretty(&results).unwrap().as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
