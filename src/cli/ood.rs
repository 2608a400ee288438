//! `aer ood`: out-of-distribution detection. The in-distribution data's test images against
//! another data set's (the out-distribution: any images of the same shape), or against the
//! same test images under the corruption benchmark's strongest severity (`--corrupted`: a
//! shift the model should notice), scored by the maximum softmax probability, the energy and
//! the predictive entropy of a checkpoint or an ensemble; AUROC and FPR at 95% TPR per score,
//! written as `<stem>-ood.json` (`<stem>-ood-corrupted.json` for corruptions).

use super::common::{load_data, open, report, restore_members, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs};
use crate::data::Dataset;
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::shift::{check_request, corrupted_copy, Set};
use crate::uncertainty::{calibration, energy_scores, entropy_scores, member_logits, msp_scores, predict_mean, Calibration, Detection, ScoreKind, Views};
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct OodArgs {
    /// Checkpoint file, or several comma-separated (an ensemble: one architecture, input
    /// shape and class count, averaged in probability).
    #[arg(long, value_delimiter = ',', num_args = 1.., required = true)]
    pub checkpoint: Vec<PathBuf>,
    /// The in-distribution data (the checkpoints' own): a data set's name or directory.
    #[arg(long, default_value = crate::data::BUNDLED)]
    pub in_data: PathBuf,
    /// The out-of-distribution data: a data set's name or directory with images of the same
    /// shape (e.g. fashion-mnist against MNIST models).
    #[arg(long, conflicts_with = "corrupted")]
    pub out_data: Option<PathBuf>,
    /// Instead of --out-data: the in-distribution test images corrupted, one out-distribution
    /// per corruption (comma-separated names of the data's set, MNIST-C for greyscale and
    /// CIFAR-10-C for colour, or `all`), and all of them pooled; drawn as `aer shift --seed S
    /// --n N` draws them with every corruption of the set, stored as 8-bit images.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub corrupted: Vec<String>,
    /// The corruptions' severity with --corrupted, 1 to 5.
    #[arg(long, default_value_t = 5, requires = "corrupted")]
    pub severity: u32,
    /// Seed of the corruptions' random draws with --corrupted.
    #[arg(long, default_value_t = 0, requires = "corrupted")]
    pub seed: u32,
    /// Test images of each side, spread over the split [default: all].
    #[arg(long, value_parser = at_least_one)]
    pub n: Option<usize>,
    /// Directory for <stem>-ood.json (the stem of the first checkpoint), created if missing
    /// [default: the checkpoint's run directory, runs/<stem>/ for a shipped checkpoint].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Examples per batch on the GPU.
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &OodArgs) -> Result<()> {
    if args.out_data.is_none() && args.corrupted.is_empty() {
        return Err(AerError::Invalid("no out-of-distribution images: give --out-data NAME|DIR (another data set's test images, e.g. fashion-mnist against MNIST models) or --corrupted NAMES|all (the test images under the corruption benchmark)".into()));
    }
    let inside = load_data(&DataArgs { data: args.in_data.clone(), val_size: None })?;
    if inside.test.is_empty() {
        return Err(AerError::Invalid(format!("{} has no test images: out-of-distribution detection scores the test split of each side", args.in_data.display())));
    }
    let n = args.n.unwrap_or(usize::MAX);
    let in_test = inside.test.spread(n);
    let corruptions = match &args.out_data {
        Some(_) => Vec::new(),
        None => {
            let set = Set::for_channels(inside.test.shape[0]);
            let names: Vec<String> = if args.corrupted.iter().any(|c| c == "all") { set.names().iter().map(|s| s.to_string()).collect() } else { args.corrupted.clone() };
            check_request(set, &names, &[args.severity]).map_err(|e| AerError::Invalid(format!("--corrupted/--severity: {e}")))?;
            names
        }
    };
    let outside = match &args.out_data {
        Some(path) => {
            let outside = load_data(&DataArgs { data: path.clone(), val_size: None })?;
            if inside.test.shape != outside.test.shape {
                return Err(AerError::Invalid(format!(
                    "the in-distribution data {} has images of shape {:?} and the out-of-distribution data {} {:?}: the models read one shape; give out-of-distribution images of shape {:?}",
                    args.in_data.display(),
                    inside.test.shape,
                    path.display(),
                    outside.test.shape,
                    inside.test.shape
                )));
            }
            if outside.test.is_empty() {
                return Err(AerError::Invalid(format!("{} has no test images: out-of-distribution detection scores the test split of each side", path.display())));
            }
            Some(outside.test.spread(n))
        }
        None => None,
    };
    let gpu = open(&gpu_args.choice())?;
    let (cks, models) = restore_members(&gpu, &args.checkpoint, inside.train.shape, inside.classes, gpu_args.dense_kernels)?;
    let models: Vec<&Model> = models.iter().collect();
    let (in_cal, in_scores) = scores(&gpu, &models, &in_test, args.batch_size)?;
    println!("in-distribution: {} ({} test images): {in_cal}", args.in_data.display(), in_test.len());
    let print = |what: &str, found: &[Detection]| {
        for d in found {
            println!("{what}{:>8}: AUROC {:.4}, FPR at 95% TPR {:.4}", d.score.label(), d.auroc, d.fpr_at_95_tpr);
        }
    };
    let (found, suffix, out_data, extra) = if let Some(out_test) = outside {
        let (_, out_scores) = scores(&gpu, &models, &out_test, args.batch_size)?;
        let found = separate(&in_scores, &out_scores);
        let out_data = args.out_data.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        println!("out-of-distribution: {out_data} ({} test images)", out_test.len());
        print("", &found);
        (found, "-ood.json", out_data, json!({"out_examples": out_test.len()}))
    } else {
        let set = Set::for_channels(inside.test.shape[0]);
        let mut pooled: [Vec<f64>; 3] = Default::default();
        let mut each = Vec::new();
        for name in &corruptions {
            let index = set.names().iter().position(|n| n == name).unwrap_or(0);
            let out_test = block_on(corrupted_copy(&gpu, &in_test, name, index, args.severity, args.seed))?;
            let (_, out_scores) = scores(&gpu, &models, &out_test, args.batch_size)?;
            let found = separate(&in_scores, &out_scores);
            print(&format!("{name:>16} "), &found);
            each.push(json!({"corruption": name, "detection": found}));
            pooled.iter_mut().zip(out_scores).for_each(|(p, s)| p.extend(s));
        }
        let found = separate(&in_scores, &pooled);
        let out_data = format!("{} corrupted ({} severity {}, {} pooled)", args.in_data.display(), set.label(), args.severity, if corruptions.len() == 1 { corruptions[0].clone() } else { format!("{} corruptions", corruptions.len()) });
        println!("out-of-distribution: {out_data} ({} images)", pooled[0].len());
        print(&format!("{:>16} ", "pooled"), &found);
        let extra = json!({"out_examples": pooled[0].len(), "corrupted": {"set": set.label(), "severity": args.severity, "seed": args.seed, "per_corruption": each}});
        (found, "-ood-corrupted.json", out_data, extra)
    };
    let path = results_path(&args.checkpoint[0], args.out.as_deref(), suffix)?;
    let mut body = json!({
        "members": args.checkpoint,
        "in_data": args.in_data,
        "out_data": out_data,
        "in_calibration": in_cal,
        "detection": found,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = report(&args.checkpoint[0], &cks[0], &gpu, "test", in_test.len(), body);
    crate::files::write_atomic(&path, crate::files::to_json_pretty(&r).as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The calibration of the mean of `models` on `data`, and its scores per example: maximum
/// softmax probability, energy, entropy (each higher = more in-distribution).
fn scores(gpu: &Gpu, models: &[&Model], data: &Dataset, batch_size: usize) -> Result<(Calibration, [Vec<f64>; 3])> {
    let passes = block_on(member_logits(gpu, models, data, batch_size, &Views::PLAIN))?;
    let mean = predict_mean(&passes, &[])?;
    let logits: Vec<_> = passes.into_iter().map(|(_, z)| z).collect();
    Ok((calibration(&mean), [msp_scores(&mean), energy_scores(&logits), entropy_scores(&mean)]))
}

/// Each score's separation of `inside` (the positives) from `outside`.
fn separate(inside: &[Vec<f64>; 3], outside: &[Vec<f64>; 3]) -> Vec<Detection> {
    let kinds = [ScoreKind::Msp, ScoreKind::Energy, ScoreKind::Entropy];
    kinds.iter().zip(inside.iter().zip(outside)).map(|(&k, (a, b))| Detection::new(k, a, b)).collect()
}
