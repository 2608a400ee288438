//! `aer ood`: out-of-distribution detection. The in-distribution data's test images against
//! another data set's (the out-distribution: any images of the same shape), scored by the
//! maximum softmax probability, the energy and the predictive entropy of a checkpoint or an
//! ensemble; AUROC and FPR at 95% TPR per score, written as `<stem>-ood.json`.
//!
//! Follow-up: the corruption benchmark's severity 5 (`aer shift`, src/shift/) as the
//! out-distribution is one more source of a `Dataset` for `detect` below.

use super::common::{load_data, open, report, restore_members, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs};
use crate::data::Dataset;
use crate::gpu::Gpu;
use crate::nn::Model;
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
    #[arg(long)]
    pub out_data: PathBuf,
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
    let inside = load_data(&DataArgs { data: args.in_data.clone(), val_size: None })?;
    let outside = load_data(&DataArgs { data: args.out_data.clone(), val_size: None })?;
    if inside.test.shape != outside.test.shape {
        return Err(AerError::Invalid(format!(
            "the in-distribution data {} has images of shape {:?} and the out-of-distribution data {} {:?}: the models read one shape; give out-of-distribution images of shape {:?}",
            args.in_data.display(),
            inside.test.shape,
            args.out_data.display(),
            outside.test.shape,
            inside.test.shape
        )));
    }
    for (name, s) in [(&args.in_data, &inside), (&args.out_data, &outside)] {
        if s.test.is_empty() {
            return Err(AerError::Invalid(format!("{} has no test images: out-of-distribution detection scores the test split of each side", name.display())));
        }
    }
    let gpu = open(&gpu_args.choice())?;
    let (cks, models) = restore_members(&gpu, &args.checkpoint, inside.train.shape, inside.classes, gpu_args.dense_kernels)?;
    let n = args.n.unwrap_or(usize::MAX);
    let (in_test, out_test) = (inside.test.spread(n), outside.test.spread(n));
    let (in_cal, found) = detect(&gpu, &models.iter().collect::<Vec<_>>(), &in_test, &out_test, args.batch_size)?;
    println!("in-distribution: {} ({} test images): {in_cal}", args.in_data.display(), in_test.len());
    println!("out-of-distribution: {} ({} test images)", args.out_data.display(), out_test.len());
    for d in &found {
        println!("{:>8}: AUROC {:.4}, FPR at 95% TPR {:.4}", d.score.label(), d.auroc, d.fpr_at_95_tpr);
    }
    let path = results_path(&args.checkpoint[0], args.out.as_deref(), "-ood.json")?;
    let body = json!({
        "members": args.checkpoint,
        "in_data": args.in_data,
        "out_data": args.out_data,
        "out_examples": out_test.len(),
        "in_calibration": in_cal,
        "detection": found,
    });
    let r = report(&args.checkpoint[0], &cks[0], &gpu, "test", in_test.len(), body);
    crate::files::write_atomic(&path, crate::files::to_json_pretty(&r).as_bytes())?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The in-distribution images' calibration, and each score's separation of `inside` (the
/// positives) from `outside`, for the mean of `models`.
fn detect(gpu: &Gpu, models: &[&Model], inside: &Dataset, outside: &Dataset, batch_size: usize) -> Result<(Calibration, Vec<Detection>)> {
    let scores = |data: &Dataset| -> Result<(Calibration, [Vec<f64>; 3])> {
        let passes = block_on(member_logits(gpu, models, data, batch_size, &Views::PLAIN))?;
        let mean = predict_mean(&passes, &[])?;
        let logits: Vec<_> = passes.into_iter().map(|(_, z)| z).collect();
        Ok((calibration(&mean), [msp_scores(&mean), energy_scores(&logits), entropy_scores(&mean)]))
    };
    let (cal, a) = scores(inside)?;
    let (_, b) = scores(outside)?;
    let kinds = [ScoreKind::Msp, ScoreKind::Energy, ScoreKind::Entropy];
    Ok((cal, kinds.iter().zip(a.iter().zip(&b)).map(|(&k, (a, b))| Detection::new(k, a, b)).collect()))
}
