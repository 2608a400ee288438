//! `aer siblings`: how much a published compressed sibling (pruned, block-sparse, ternary) of
//! a full model helps an attacker of the full model. Per prior (an independently trained
//! model of the same architecture, the baseline, then each sibling): PGD and APGD-CE
//! examples crafted on it and evaluated on the full model (transfer success), the agreement
//! of the two models' predictions on them, their input-gradient cosine, and the Square
//! attack on the full model started from the prior's examples (queries to success), beside
//! Square with no prior on the same examples. Writes siblings.json (docs/siblings.md).

use super::common::{load_data, open, restore_for, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs};
use super::progress::work_bar;
use crate::attack::{gradient_cosines, mean_median, prior_square, transfer_attack, AttackConfig, AttackName, AttackSettings, QueryOutcome, SuiteConfig, Transfer};
use crate::files::write_json;
use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct SiblingsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The full model, the one attacked (.safetensors written by `aer train`).
    #[arg(help_heading = "Model", long)]
    pub full: PathBuf,
    /// Its compressed siblings, comma-separated or repeated; each is named after its
    /// checkpoint's directory.
    #[arg(help_heading = "Model", long, value_delimiter = ',', required = true)]
    pub sibling: Vec<PathBuf>,
    /// An independently trained model of the full model's architecture (another seed): the
    /// baseline prior.
    #[arg(help_heading = "Model", long)]
    pub baseline: Option<PathBuf>,
    /// Attack N test examples spread evenly over the split (every class in them) [default: 1000].
    #[arg(help_heading = "Data", long, default_value_t = 1000, value_parser = at_least_one)]
    pub n: usize,
    /// L-inf radius, a number or a fraction [default: 0.3 for 1-channel inputs, 8/255 for colour].
    #[arg(help_heading = "Attack", long, value_parser = super::options::radius)]
    pub eps: Option<f32>,
    /// PGD steps on the prior [default: 40 for 1-channel inputs, 10 for colour].
    #[arg(help_heading = "Attack", long)]
    pub steps: Option<usize>,
    /// APGD-CE iterations on the prior [default: 100].
    #[arg(help_heading = "Attack", long)]
    pub apgd_steps: Option<usize>,
    /// Square attack queries per example on the full model [default: 1000].
    #[arg(help_heading = "Attack", long, default_value_t = 1000, value_parser = at_least_one)]
    pub queries: usize,
    /// Seed of the random starts and draws.
    #[arg(help_heading = "Attack", long, default_value_t = 0)]
    pub seed: u64,
    /// Examples per batch on the GPU.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Directory for <name>-siblings/siblings.json [default: the full model's directory;
    /// runs/<name>/ for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

/// A prior's name: its checkpoint's directory (runs/pruned50/best.safetensors: pruned50).
fn label(path: &Path) -> String {
    path.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// A sibling must take the full model's inputs and give its classes; the baseline prior must
/// also be of its architecture.
fn check_checkpoint(full: &Checkpoint, full_path: &Path, other: &Checkpoint, path: &Path, same_architecture: bool) -> Result<()> {
    if other.input != full.input || other.classes != full.classes {
        return Err(AerError::checkpoint(
            path,
            format!(
                "takes inputs {:?} with {} classes, but the full model {} takes {:?} with {} classes; a sibling must be a compressed copy of the full model (aer train --init {})",
                other.input,
                other.classes,
                full_path.display(),
                full.input,
                full.classes,
                full_path.display()
            ),
        ));
    }
    if same_architecture {
        let shapes = |ck: &Checkpoint| ck.spec.shapes(ck.input, ck.classes);
        if shapes(other)? != shapes(full)? {
            return Err(AerError::checkpoint(
                path,
                format!(
                    "is model '{}', another architecture than the full model's '{}' ({}); the baseline prior is the full model's architecture trained independently (aer train --model {} --seed 1)",
                    other.spec.name,
                    full.spec.name,
                    full_path.display(),
                    full.spec.name
                ),
            ));
        }
    }
    Ok(())
}

fn query_json(q: &QueryOutcome, budget: usize) -> Value {
    let (mean, median) = q.queries_at_budget(budget).unwrap_or((0.0, 0));
    json!({"success": q.success(), "mean_queries": mean, "median_queries": median, "attacked": q.attacked.iter().filter(|&&a| a).count()})
}

fn transfer_json(t: &Transfer) -> Value {
    let per_attack: Vec<Value> = t
        .attacks
        .iter()
        .enumerate()
        .map(|(i, a)| json!({"label": a.config.label(), "config": a.config, "transfer_success": t.success(Some(i)), "white_box_success": t.source_success(i), "agreement": t.agreement(i)}))
        .collect();
    json!({"attacks": per_attack, "transfer_success_any": t.success(None)})
}

pub fn run(gpu_args: &GpuArgs, args: &SiblingsArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    // Every checkpoint read and checked against the full model before anything runs.
    let full_ck = Checkpoint::load(&args.full)?;
    let out = results_path(&args.full, args.out.as_deref(), "-siblings")?;
    let mut priors: Vec<(String, &'static str, PathBuf, Checkpoint)> = Vec::new();
    if let Some(p) = &args.baseline {
        let ck = Checkpoint::load(p)?;
        check_checkpoint(&full_ck, &args.full, &ck, p, true)?;
        priors.push((label(p), "baseline", p.clone(), ck));
    }
    for p in &args.sibling {
        let ck = Checkpoint::load(p)?;
        check_checkpoint(&full_ck, &args.full, &ck, p, false)?;
        priors.push((label(p), "sibling", p.clone(), ck));
    }
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    let input = splits.train.shape;
    let full = restore_for(&gpu, &full_ck, &args.full, input, splits.classes, dense_kernels)?;
    let settings = AttackSettings {
        eps: args.eps,
        steps: args.steps,
        apgd_steps: args.apgd_steps,
        square_queries: Some(args.queries),
        attacks: Some(vec![AttackName::Pgd, AttackName::ApgdCe, AttackName::Square]),
        seed: Some(args.seed),
        ..Default::default()
    };
    let suite = SuiteConfig::resolve(&settings, input, splits.classes)?;
    let (crafting, square): (Vec<AttackConfig>, Vec<AttackConfig>) = suite.attacks.into_iter().partition(|a| a.name != AttackName::Square);
    let square = &square[0];
    let data = splits.test.spread(args.n);
    std::fs::create_dir_all(&out).map_err(|e| AerError::file(&out, format!("cannot create the output directory: {e}")))?;
    eprintln!("full model {} ({}), {} test examples spread over the split, eps {}", args.full.display(), full_ck.spec.name, data.len(), square.eps);
    for a in crafting.iter().chain([square]) {
        eprintln!("  {:<9} eps {}  step {}  steps {}  seed {}", a.label(), a.eps, if a.name == AttackName::Square { "-".into() } else { a.step.to_string() }, a.steps, a.seed);
    }
    let t = Instant::now();
    let full_clean = block_on(crate::train::evaluate(&gpu, &full, &splits.test, args.batch_size))?.accuracy;
    let no_prior = block_on(prior_square(&gpu, &full, &data, square, None, args.batch_size))?;
    println!("full model: clean accuracy {:.2}% (test split); Square, no prior: success {:.1}%, queries mean {:.0} median {} (failures at the budget)", 100.0 * full_clean, 100.0 * no_prior.success(), no_prior.queries_at_budget(args.queries).map_or(0.0, |q| q.0), no_prior.queries_at_budget(args.queries).map_or(0, |q| q.1));
    let mut rows = Vec::new();
    for (name, role, path, ck) in &priors {
        let model = restore_for(&gpu, ck, path, input, splits.classes, dense_kernels)?;
        let clean = block_on(crate::train::evaluate(&gpu, &model, &splits.test, args.batch_size))?.accuracy;
        let bar = work_bar(name, data.len().div_ceil(args.batch_size), "batches");
        let transfer = block_on(transfer_attack(&gpu, &model, &full, &data, &crafting, args.batch_size, &mut |d, _| bar.set_position(d as u64)))?;
        bar.finish_and_clear();
        let cos = block_on(gradient_cosines(&gpu, &model, &full, &data, args.batch_size))?;
        let (cos_mean, cos_median) = mean_median(&cos).unwrap_or((0.0, 0.0));
        let queries = block_on(prior_square(&gpu, &full, &data, square, Some(&transfer.crafted), args.batch_size))?;
        let q = queries.queries_at_budget(args.queries).unwrap_or((0.0, 0));
        println!(
            "{name:<16} {role:<8} clean {:.2}%  sparsity {:.1}%  transfer {}  any {:.1}%  grad cos mean {cos_mean:.3}  Square from prior: success {:.1}%, queries mean {:.0} median {}",
            100.0 * clean,
            100.0 * ck.stored_size().sparsity(),
            transfer.attacks.iter().enumerate().map(|(i, a)| format!("{} {:.1}% (agree {:.1}%)", a.config.label(), 100.0 * transfer.success(Some(i)), 100.0 * transfer.agreement(i))).collect::<Vec<_>>().join(", "),
            100.0 * transfer.success(None),
            100.0 * queries.success(),
            q.0,
            q.1
        );
        rows.push(json!({
            "label": name,
            "role": role,
            "checkpoint": path,
            "model": ck.spec.name,
            "clean_accuracy": clean,
            "sparsity": ck.stored_size().sparsity(),
            "quantized": ck.spec.quant.is_some(),
            "transfer": transfer_json(&transfer),
            "gradient_cosine": {"mean": cos_mean, "median": cos_median},
            "query_attack": query_json(&queries, args.queries),
        }));
    }
    let result = json!({
        "full": {"checkpoint": args.full, "model": full_ck.spec.name, "clean_accuracy": full_clean},
        "adapter": gpu.adapter_label(),
        "data": splits.source,
        "split": "test",
        "examples": data.len(),
        "attacks": crafting,
        "query_attack": {"config": square, "no_prior": query_json(&no_prior, args.queries)},
        "priors": rows,
        "seconds": t.elapsed().as_secs_f64(),
    });
    let path = out.join("siblings.json");
    write_json(&path, &result)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
