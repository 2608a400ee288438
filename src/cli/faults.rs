//! `aer faults`: accuracy and robust accuracy under bit flips in the stored weights and under
//! approximate multipliers.

use super::common::{load_data, open, report, restore_stored, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs, SplitArg};
use crate::attack::AttackConfig;
use crate::faults::Storage;
use crate::files::write_json;
use crate::kernels::Norm;
use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FaultsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to inject faults into (a packed one from `aer quantize` for ternary storage).
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Evaluate on N examples spread evenly over the split (every class in them).
    #[arg(help_heading = "Data", long, default_value_t = 500)]
    pub n: usize,
    /// The split to evaluate on: test, or val (held out of the training images).
    #[arg(help_heading = "Data", long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Storage formats whose bits flip, comma-separated [default: ternary for a packed
    /// checkpoint, else f32,f16].
    #[arg(help_heading = "Faults", long, value_enum, value_delimiter = ',')]
    pub storage: Option<Vec<Storage>>,
    /// Per-bit flip probabilities, comma-separated.
    #[arg(help_heading = "Faults", long, value_delimiter = ',', default_value = "0,1e-7,1e-6,1e-5,1e-4,1e-3")]
    pub rates: Vec<f64>,
    /// Fault patterns per rate.
    #[arg(help_heading = "Faults", long, default_value_t = 3)]
    pub trials: usize,
    /// Multipliers, comma-separated: exact, trunc:<bits> (low product bits dropped) or a
    /// product-table file (see assets/multipliers); `--multipliers` with no value skips them.
    #[arg(help_heading = "Faults", long, value_delimiter = ',', num_args = 0.., default_value = "exact,trunc:4,trunc:6,trunc:8,trunc:10")]
    pub multipliers: Vec<String>,
    /// L-inf radius of the PGD attack run at every point (0 skips it).
    #[arg(help_heading = "Attack", long, default_value_t = 0.1, value_parser = super::options::radius)]
    pub eps: f32,
    /// Steps of that PGD attack.
    #[arg(help_heading = "Attack", long, default_value_t = 10)]
    pub pgd_steps: usize,
    /// Seed of the random starts and draws.
    #[arg(help_heading = "Faults", long, default_value_t = 0)]
    pub seed: u64,
    /// Examples per batch on the GPU.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Directory for the results, <name>-faults.json [default: the checkpoint's directory; runs/<name>/
    /// for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &FaultsArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    use crate::faults::{bit_flip_curve, multiplier_curve, FaultPoint, ProductTable};
    if let Some(r) = args.rates.iter().find(|r| !(0.0..=1.0).contains(*r)) {
        return Err(AerError::Invalid(format!("--rates {r}: flip probabilities are in [0, 1]")));
    }
    let tables = args.multipliers.iter().map(|m| ProductTable::parse(m)).collect::<Result<Vec<_>>>()?;
    let ck = Checkpoint::load(&args.checkpoint)?;
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-faults.json")?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let mut model = restore_stored(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, dense_kernels)?;
    let (split_name, split) = args.split.pick_some(&splits)?;
    // Spread over the split, so every class is in a subset (a prefix of a file in class order is not).
    let data = split.spread(args.n);
    if data.is_empty() {
        return Err(AerError::Invalid("--n 0 leaves nothing to evaluate".into()));
    }
    let storage: Vec<Storage> = match &args.storage {
        Some(v) => v.clone(),
        None if !model.packed().is_empty() => vec![Storage::Ternary],
        None => vec![Storage::F32, Storage::F16],
    };
    let attack = (args.eps > 0.0 && args.pgd_steps > 0).then(|| AttackConfig::pgd(Norm::Linf, args.eps, 2.5 * args.eps / args.pgd_steps as f32, args.pgd_steps, args.seed));
    eprintln!("fault injection into {} ({}, epoch {}) on {} {split_name} examples spread over the split{}", args.checkpoint.display(), ck.spec.name, ck.epoch, data.len(), attack.as_ref().map_or(String::new(), |a| format!(", {} at eps {}", a.label(), a.eps)));
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
    write_json(&out, &results)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
