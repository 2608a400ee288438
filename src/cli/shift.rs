//! `aer shift`: accuracy of a checkpoint on corrupted copies of the test split (MNIST-C for
//! greyscale data, CIFAR-10-C for colour), per corruption and severity, with the mean
//! corruption accuracy and, against a reference model, the mean corruption error; writes
//! <stem>-shift.json, a heat map (SVG) and an image grid (PNG).

use super::common::{load_data, open, report, restore_for, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs};
use crate::files::{write_atomic, write_json};
use crate::report::corruption_grid;
use crate::report::shift::heatmap_svg;
use crate::shift::{check_request, evaluate_shift, Set, ShiftConfig, GRID_EXAMPLES};
use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ShiftArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to evaluate (.safetensors written by `aer train`).
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Corruptions, comma-separated [default: every one of the data's set, MNIST-C for
    /// greyscale images, CIFAR-10-C for colour].
    #[arg(help_heading = "Corruptions", long, value_delimiter = ',')]
    pub corruptions: Vec<String>,
    /// Severities from 1 (mildest) to 5, comma-separated.
    #[arg(help_heading = "Corruptions", long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub severities: Vec<u32>,
    /// Evaluate on N test examples spread evenly over the split (every class in them).
    #[arg(help_heading = "Data", long, default_value_t = 1000, value_parser = at_least_one)]
    pub n: usize,
    /// Seed of the corruptions' random draws (the same seed corrupts the same way).
    #[arg(help_heading = "Corruptions", long, default_value_t = 0)]
    pub seed: u32,
    /// A second checkpoint (e.g. the dense model) evaluated on the same corrupted images, for
    /// the corruption errors CE and mCE.
    #[arg(help_heading = "Model", long)]
    pub reference: Option<PathBuf>,
    /// Directory for <stem>-shift.json, the heat map <stem>-shift.svg and the grid, created if
    /// missing [default: the checkpoint's run directory, runs/<stem>/ for a shipped checkpoint].
    #[arg(help_heading = "Run", long)]
    pub out: Option<PathBuf>,
    /// Examples per batch on the GPU.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Also write the image grid <stem>-shift-grid.png: every corruption at every severity on
    /// a few examples.
    #[arg(help_heading = "Run", long)]
    pub grid: bool,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// A ratio, or None where the denominator is not positive (CE is undefined then).
fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

pub fn run(gpu_args: &GpuArgs, args: &ShiftArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    let ck = Checkpoint::load(&args.checkpoint)?;
    let reference = args.reference.as_ref().map(|p| Checkpoint::load(p).map(|c| (p, c))).transpose()?;
    let splits = load_data(&args.data)?;
    let set = Set::for_channels(splits.test.shape[0]);
    let corruptions: Vec<String> = if args.corruptions.is_empty() { set.names().iter().map(|s| s.to_string()).collect() } else { args.corruptions.clone() };
    check_request(set, &corruptions, &args.severities)?;
    let gpu = open(choice)?;
    let model = restore_for(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let ref_model = reference.as_ref().map(|(p, c)| restore_for(&gpu, c, p, splits.train.shape, splits.classes, dense_kernels)).transpose()?;
    let data = splits.test.spread(args.n);
    if data.is_empty() {
        return Err(AerError::Invalid("the test split is empty: nothing to corrupt".into()));
    }
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-shift.json")?;
    eprintln!("{} on {} test examples: {} ({}), severities {:?}, seed {}", args.checkpoint.display(), data.len(), set.label(), corruptions.join(", "), args.severities, args.seed);
    if !set.missing().is_empty() {
        eprintln!("not in this build: {}", set.missing().join(", "));
    }
    let cfg = ShiftConfig { corruptions: corruptions.clone(), severities: args.severities.clone(), seed: args.seed, batch_size: args.batch_size };
    let models: Vec<&crate::nn::Model> = std::iter::once(&model).chain(ref_model.as_ref()).collect();
    let t = std::time::Instant::now();
    let r = block_on(evaluate_shift(&gpu, &models, &data, &cfg, &mut |what| eprintln!("  {what}")))?;
    let seconds = t.elapsed().as_secs_f64();

    // Per model: the rows of corruptions and the mean corruption accuracy.
    let summary = |m: usize| {
        let rows: Vec<Value> = corruptions.iter().zip(&r.accuracy[m]).map(|(name, acc)| json!({"name": name, "accuracy": acc, "mean_accuracy": mean(acc)})).collect();
        (rows, mean(&r.accuracy[m].iter().map(|a| mean(a)).collect::<Vec<_>>()))
    };
    let (mut rows, mca) = summary(0);
    let (mut mce, mut relative_mce, mut reference_json) = (None, None, Value::Null);
    if let Some((path, c)) = &reference {
        let (ref_rows, ref_mca) = summary(1);
        // CE_c = sum_s err(model) / sum_s err(reference); relative CE uses the errors in
        // excess of each model's clean error (Hendrycks & Dietterich, 2019).
        let (mut ces, mut rces) = (Vec::new(), Vec::new());
        for (ci, row) in rows.iter_mut().enumerate() {
            let err = |m: usize| r.accuracy[m][ci].iter().map(|a| 1.0 - a).sum::<f64>();
            let excess = |m: usize| err(m) - r.accuracy[m][ci].len() as f64 * (1.0 - r.clean[m]);
            let (ce, rce) = (ratio(err(0), err(1)), ratio(excess(0), excess(1)));
            row["ce"] = json!(ce);
            row["relative_ce"] = json!(rce);
            ces.push(ce);
            rces.push(rce);
        }
        let all = |v: Vec<Option<f64>>| v.into_iter().collect::<Option<Vec<f64>>>().map(|v| mean(&v));
        mce = all(ces);
        relative_mce = all(rces);
        reference_json = json!({"checkpoint": path, "model": c.spec.name, "clean_accuracy": r.clean[1], "corruptions": ref_rows, "mean_corruption_accuracy": ref_mca});
    }

    let stem = out.file_name().map(|n| n.to_string_lossy().trim_end_matches(".json").to_string()).unwrap_or_default();
    let heatmap = out.with_file_name(format!("{stem}.svg"));
    let title = format!("{} on {}: accuracy % ({} examples)", ck.spec.name, set.label(), data.len());
    write_atomic(&heatmap, heatmap_svg(&title, &corruptions, &args.severities, r.clean[0], &r.accuracy[0]).as_bytes())?;
    let grid = args.grid.then(|| out.with_file_name(format!("{stem}-grid.png")));
    if let Some(g) = &grid {
        write_atomic(g, &corruption_grid(&r.grid_clean, &r.grid, data.shape, GRID_EXAMPLES)?)?;
    }
    let results = report(&args.checkpoint, &ck, &gpu, "test", data.len(), json!({
        "set": set.label(),
        "seed": args.seed,
        "severities": args.severities,
        "clean_accuracy": r.clean[0],
        "corruptions": rows,
        "mean_corruption_accuracy": mca,
        "reference": reference_json,
        "mce": mce,
        "relative_mce": relative_mce,
        "not_in_this_build": set.missing(),
        "heatmap": heatmap,
        "grid": grid,
        "grid_rows": corruptions,
        "seconds": seconds,
    }));
    write_json(&out, &results)?;
    eprintln!("clean {:.2}%, mean corruption accuracy {:.2}%{}", 100.0 * r.clean[0], 100.0 * mca, mce.map_or(String::new(), |m| format!(", mCE {:.1}%", 100.0 * m)));
    for (name, acc) in corruptions.iter().zip(&r.accuracy[0]) {
        eprintln!("  {name:16} {}", acc.iter().map(|a| format!("{:6.2}", 100.0 * a)).collect::<Vec<_>>().join(" "));
    }
    eprintln!("wrote {}, {}{}", out.display(), heatmap.display(), grid.map_or(String::new(), |g| format!(", {}", g.display())));
    Ok(())
}
