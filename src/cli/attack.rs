//! `aer attack`: robustness evaluation of a checkpoint, written as robustness.json, a PNG
//! grid of examples and the adversarial examples themselves (safetensors).

use super::common::{load_data, load_run_file, open, report, restore_for, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs, SplitArg};
use super::progress::work_bar;
use crate::attack::{
    evaluate_robustness_logged, export_examples, fraction, minimal_distances, robustness_curve, sanity_checks, AttackName, AttackSettings, Journal, SuiteConfig,
};
use crate::files::{write_atomic, write_json, DirLock};
use crate::kernels::Norm;
use crate::reference::first_argmax;
use crate::report::adversarial_grid;
use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct AttackArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to attack (.safetensors written by `aer train`).
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Also evaluate the adversarial examples on this checkpoint (a transfer attack).
    #[arg(help_heading = "Model", long)]
    pub transfer_to: Option<PathBuf>,
    /// A TOML file whose [attack] table sets the values below; flags override it.
    #[arg(help_heading = "Attack", long)]
    pub config: Option<PathBuf>,
    /// Attack N test examples spread evenly over the split (every class in them) [default: all].
    #[arg(help_heading = "Data", long)]
    pub n: Option<usize>,
    /// The split to evaluate on: test, or val (held out of the training images).
    #[arg(help_heading = "Data", long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Attacks to run, comma-separated [default: fgsm,pgd,apgd-ce,apgd-dlr]. `standard` is
    /// AutoAttack's standard evaluation (L-inf): apgd-ce, apgd-t with 9 target classes, fab-t
    /// with 9 target classes and square with 5,000 queries, at AutoAttack's restarts.
    #[arg(help_heading = "Attack", long, value_enum, value_delimiter = ',')]
    pub attacks: Option<Vec<AttackName>>,
    /// The norm of the attacks' radius [default: linf].
    #[arg(help_heading = "Attack", long, value_enum)]
    pub norm: Option<Norm>,
    /// Radius, a number or a fraction [default: 0.3 for 1-channel inputs, 8/255 for colour; L2: 2.0, 0.5].
    #[arg(help_heading = "Attack", long, value_parser = super::options::radius)]
    pub eps: Option<f32>,
    /// PGD step [default: 0.01 for 1-channel inputs, 2/255 for colour, scaled with eps].
    #[arg(help_heading = "Attack", long, value_parser = super::options::radius)]
    pub step: Option<f32>,
    /// PGD steps [default: 40 for 1-channel inputs, 10 for colour].
    #[arg(help_heading = "Attack", long)]
    pub steps: Option<usize>,
    /// Random restarts per attack [default: 1]; for targeted attacks the number of runner-up
    /// target classes (fab-t: default 9, at most classes - 1); square runs once.
    #[arg(help_heading = "Attack", long)]
    pub restarts: Option<usize>,
    /// APGD iterations [default: 100].
    #[arg(help_heading = "Attack", long)]
    pub apgd_steps: Option<usize>,
    /// FAB-T iterations per target class [default: 100].
    #[arg(help_heading = "Attack", long)]
    pub fab_steps: Option<usize>,
    /// Square attack queries per example [default: 5000].
    #[arg(help_heading = "Attack", long)]
    pub square_queries: Option<usize>,
    /// Radii of the robustness curve, comma-separated [default: 0 to 1.5 eps in 8 steps, and
    /// the whole input range]; `--curve` with no value skips the curve.
    #[arg(help_heading = "Curve and distances", long, value_delimiter = ',', num_args = 0..)]
    pub curve: Option<Vec<f32>>,
    /// Examples on the curve, spread evenly over the attacked ones [default: 500].
    #[arg(help_heading = "Curve and distances", long)]
    pub curve_n: Option<usize>,
    /// Examples whose minimal adversarial distance is estimated by bisection, spread evenly
    /// over the attacked ones [default: 500]; 0 skips it.
    #[arg(help_heading = "Curve and distances", long)]
    pub distance_n: Option<usize>,
    /// Each attack only on the examples the attacks before it left robust, as AutoAttack runs
    /// them: the same worst case for less work, each attack's accuracy then the accuracy after
    /// it [default: true with `standard`, else false].
    #[arg(help_heading = "Attack", long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub cascade: Option<bool>,
    /// Seed of the random starts [default: 0].
    #[arg(help_heading = "Attack", long)]
    pub seed: Option<u64>,
    /// Examples per batch on the GPU.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Directory for <name>-attack/ (robustness.json, examples.safetensors and examples.png)
    /// [default: the checkpoint's directory; runs/<name>/ for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue an evaluation that stopped part-way from the batches it finished (kept in
    /// <name>-attack/journal/ until the results are written); the settings must be the same.
    #[arg(help_heading = "Run", long)]
    pub resume: bool,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &AttackArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    let cli = AttackSettings {
        norm: args.norm,
        eps: args.eps,
        step: args.step,
        steps: args.steps,
        restarts: args.restarts,
        apgd_steps: args.apgd_steps,
        fab_steps: args.fab_steps,
        square_queries: args.square_queries,
        attacks: args.attacks.clone(),
        curve: args.curve.clone(),
        curve_n: args.curve_n,
        distance_n: args.distance_n,
        seed: args.seed,
        cascade: args.cascade,
        ..Default::default()
    };
    let settings = cli.or(load_run_file(args.config.as_deref())?.attack.unwrap_or_default());
    // Validate everything before the slow parts start.
    let ck = Checkpoint::load(&args.checkpoint)?;
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-attack")?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let input = splits.train.shape;
    let model = restore_for(&gpu, &ck, &args.checkpoint, input, splits.classes, dense_kernels)?;
    let target = args.transfer_to.as_ref().map(|p| restore_for(&gpu, &Checkpoint::load(p)?, p, input, splits.classes, dense_kernels)).transpose()?;
    let suite = SuiteConfig::resolve(&settings, input, splits.classes)?;
    let (split_name, split) = args.split.pick_some(&splits)?;
    // Spread over the split, so every class is in a subset (a prefix of a file in class order is not).
    let data = split.spread(args.n.unwrap_or(split.len()));
    if data.is_empty() {
        return Err(AerError::Invalid("--n 0 leaves nothing to attack".into()));
    }
    // The directory is this evaluation's until it returns; its journal keeps the finished batches.
    let lock = DirLock::acquire(&out, 1)?;
    lock.notes.iter().for_each(|n| eprintln!("{n}"));
    let evaluation = json!({
        "checkpoint": args.checkpoint, "model": ck.spec.name, "epoch": ck.epoch, "data": splits.source, "split": split_name,
        "examples": data.len(), "batch_size": args.batch_size, "attacks": suite.attacks, "cascade": suite.cascade,
    });
    let mut journal = Journal::open(&out, &evaluation, args.resume)?;

    eprintln!("attacking {} ({}, epoch {}) on {} {split_name} examples spread over the split", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len());
    for a in &suite.attacks {
        eprintln!(
            "  {:<9} norm {:?}  eps {}  step {}  steps {}  restarts {}  loss {:?}  random start {}  targeted {}  seed {}",
            a.label(),
            a.norm,
            a.eps,
            // FAB and Square take no gradient step of a fixed size.
            if matches!(a.method, crate::attack::Method::Fab | crate::attack::Method::Square) { "-".to_string() } else { a.step.to_string() },
            a.steps,
            a.restarts,
            a.loss,
            a.random_start,
            a.targeted,
            a.seed
        );
    }
    if suite.cascade && suite.attacks.len() > 1 {
        eprintln!("  in a cascade: each attack on the examples still robust after the ones before it (its accuracy is the accuracy after it)");
    }
    let t = Instant::now();
    let recorded = journal.recorded();
    if recorded > 0 {
        eprintln!("resuming: {recorded} batches finished earlier");
    }
    let bar = work_bar("attacks", data.len().div_ceil(args.batch_size), "batches");
    let r = block_on(evaluate_robustness_logged(&gpu, &model, &data, &suite.attacks, suite.cascade, args.batch_size, &mut |d, _| bar.set_position(d as u64), &mut journal))?;
    bar.finish_and_clear();
    // Over every batch, those of an earlier run resumed included.
    let attack_seconds: f64 = r.attacks.iter().map(|a| a.seconds).sum();

    // The curve uses the suite's PGD (or a conventional one).
    let curve_attack = suite.curve_attack(&settings, input, splits.classes)?;
    let bar = work_bar("curve", suite.curve.len(), "radii");
    let curve_data = data.spread(suite.curve_n);
    let curve = block_on(robustness_curve(&gpu, &model, &curve_data, &curve_attack, &suite.curve, args.batch_size, &mut |d, _| bar.set_position(d as u64)))?;
    bar.finish_and_clear();

    let distance_idx = data.spread_indices(suite.distance.n);
    let distances = if suite.distance.n > 0 {
        let t = Instant::now();
        let d = block_on(minimal_distances(&gpu, &model, &data.spread(suite.distance.n), curve_attack.norm, &suite.distance, curve_attack.seed, args.batch_size))?;
        eprintln!("minimal distance ({} examples, {:.1} s)", d.n, t.elapsed().as_secs_f64());
        Some(d)
    } else {
        None
    };
    let checks = sanity_checks(&r, &curve);

    // Per class: clean and worst-case robust accuracy.
    let clean_ok = r.clean_correct();
    let per_class: Vec<_> = (0..splits.classes)
        .map(|c| {
            let idx: Vec<usize> = (0..r.labels.len()).filter(|&i| r.labels[i] as usize == c).collect();
            let pick = |v: &[bool]| fraction(&idx.iter().map(|&i| v[i]).collect::<Vec<_>>());
            json!({"class": c, "examples": idx.len(), "clean_accuracy": pick(&clean_ok), "robust_accuracy": pick(&r.worst_robust)})
        })
        .collect();

    let transfer = match (&target, &args.transfer_to) {
        (Some(t), Some(path)) => {
            let d = data.image_len();
            let mut correct = Vec::new();
            for (chunk, labels) in r.adversarial.chunks(args.batch_size * d).zip(r.labels.chunks(args.batch_size)) {
                let x = gpu.upload(chunk, &[labels.len(), input[0], input[1], input[2]]);
                let logits = block_on(gpu.read_f32(&t.forward(&gpu, x, None)))?;
                correct.extend(logits.chunks(splits.classes).zip(labels).map(|(row, &y)| first_argmax(row) == y));
            }
            let clean_target = block_on(crate::train::evaluate(&gpu, t, &data, args.batch_size))?.accuracy;
            Some(json!({"target": path, "target_clean_accuracy": clean_target, "accuracy_on_transferred_examples": fraction(&correct)}))
        }
        _ => None,
    };

    // Report.
    println!("clean accuracy: {:.2}% ({} examples)", 100.0 * r.clean_accuracy(), r.labels.len());
    for a in &r.attacks {
        let queries = a.query_stats().map_or(String::new(), |(mean, median)| format!(", queries mean {mean:.0}, median {median}"));
        println!("{:<10} robust accuracy: {:.2}%  ({:.1} s{queries})", a.config.label(), 100.0 * a.accuracy(), a.seconds);
    }
    println!("worst case robust accuracy: {:.2}%", 100.0 * r.worst_accuracy());
    println!("curve ({}, {} examples): {}", curve_attack.label(), curve_data.len(), curve.iter().map(|(e, a)| format!("{e:.3}: {:.1}%", 100.0 * a)).collect::<Vec<_>>().join(", "));
    if let Some(d) = &distances {
        let show = |v: Option<f32>| v.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        println!("minimal {:?} distance over {} examples: median {}, mean {} ({} not found within {})", curve_attack.norm, d.n, show(d.median), show(d.mean), d.not_found, suite.distance.max_eps);
    }
    if let Some(t) = &transfer {
        println!("transfer: accuracy of {} on these examples: {:.2}%", args.transfer_to.as_ref().unwrap().display(), 100.0 * t["accuracy_on_transferred_examples"].as_f64().unwrap());
    }
    for c in &checks {
        println!("{} {}: {}", if c.passed { "ok  " } else { "WARN" }, c.name, c.detail);
    }

    let result = report(&args.checkpoint, &ck, &gpu, split_name, r.labels.len(), json!({
        "clean_accuracy": r.clean_accuracy(),
        "attacks": r.attacks.iter().map(|a| {
            let mut e = json!({"label": a.config.label(), "config": a.config, "robust_accuracy": a.accuracy(), "seconds": a.seconds});
            if let Some(q) = a.queries_json() {
                e["queries"] = q;
            }
            e
        }).collect::<Vec<_>>(),
        "cascade": suite.cascade,
        "worst_case_robust_accuracy": r.worst_accuracy(),
        "curve": {"attack": curve_attack, "examples": curve_data.len(), "points": curve.iter().map(|(e, a)| json!({"eps": e, "robust_accuracy": a})).collect::<Vec<_>>()},
        "per_class": per_class,
        "minimal_distance": distances.as_ref().map(|d| json!({"norm": curve_attack.norm, "config": suite.distance, "examples": d.n, "median": d.median, "mean": d.mean, "not_found": d.not_found})),
        "transfer": transfer,
        "checks": checks,
        "attack_seconds": attack_seconds,
        "resumed_batches": recorded,
        "total_seconds": t.elapsed().as_secs_f64(),
    }));
    write_json(&out.join("robustness.json"), &result)?;
    let meta: HashMap<String, String> = [
        ("format".to_string(), "aer-adversarial-examples".to_string()),
        ("checkpoint".to_string(), args.checkpoint.display().to_string()),
        ("attacks".to_string(), serde_json::to_string(&suite.attacks).unwrap()),
    ]
    .into();
    write_atomic(&out.join("examples.safetensors"), &export_examples(&r, input, distances.as_ref().map(|d| (&distance_idx[..], d)), meta)?)?;
    // Up to 8 examples the attack flipped (clean-correct, not robust), else the first ones.
    let mut rows: Vec<usize> = (0..r.labels.len()).filter(|&i| clean_ok[i] && !r.worst_robust[i]).take(8).collect();
    if rows.is_empty() {
        rows = (0..r.labels.len().min(8)).collect();
    }
    write_atomic(&out.join("examples.png"), &adversarial_grid(&r.clean, &r.adversarial, input, &rows)?)?;
    journal.finish()?;
    eprintln!("wrote {}", PathBuf::from(&out).join("robustness.json").display());
    Ok(())
}
