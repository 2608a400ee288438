//! Progress on standard error: a bar per epoch (with ETA) or per piece of work, and a line
//! per finished epoch.

use crate::data::Splits;
use crate::gpu::Gpu;
use crate::nn::ModelSpec;
use crate::train::{EpochRecord, FitEvent, FitOptions, FitResult, TrainConfig};
use crate::Result;
use indicatif::{ProgressBar, ProgressStyle};
use pollster::block_on;
use std::path::Path;

pub fn epoch_bar(epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    work_bar(&format!("epoch {}/{}", epoch + 1, epochs), batches, "batches")
}

/// A bar for `total` units of some labelled piece of work.
pub fn work_bar(label: &str, total: usize, units: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {units}  {{elapsed_precise}} eta {{eta}}"))
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}

/// Train with a progress bar per epoch and a line per finished epoch.
pub fn fit(gpu: &Gpu, splits: &Splits, spec: &ModelSpec, cfg: &TrainConfig, out: &Path, opts: &FitOptions) -> Result<FitResult> {
    let mut bar: Option<ProgressBar> = None;
    let r = block_on(crate::train::fit(gpu, &crate::methods::REGISTRY, splits, spec, cfg, out, opts, &mut |ev| match ev {
        FitEvent::Note(s) => eprintln!("{s}"),
        FitEvent::EpochStart { epoch, epochs, batches } => bar = Some(epoch_bar(epoch, epochs, batches)),
        FitEvent::Batch { done } => {
            if let Some(b) = &bar {
                b.set_position(done as u64)
            }
        }
        FitEvent::EpochDone(rec) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!("{}", epoch_line(rec, cfg.epochs));
        }
    }))?;
    let what = if cfg.has("adv") { "val robust" } else if cfg.has("certify") { "val verified" } else { "val" };
    eprintln!("best epoch {} ({what} {:.2}%), test accuracy {:.2}%", r.best_epoch, 100.0 * r.best_score, 100.0 * r.test_accuracy);
    Ok(r)
}

/// One finished epoch, as a line.
pub fn epoch_line(rec: &EpochRecord, epochs: usize) -> String {
    let robust_note = match (&rec.robust, &rec.certified) {
        (Some(r), _) => format!("  eps {:.3}  train-adv {:.2}%  val-robust {:.2}%", r.eps, 100.0 * r.train_robust_accuracy, 100.0 * r.val_robust_accuracy),
        (None, Some(c)) => format!(
            "  eps {:.3}  kappa {:.2}  bound-loss {:.4}  train-verified {:.2}%  val-verified {:.2}%",
            c.eps,
            c.kappa,
            c.train_bound_loss,
            100.0 * c.train_verified_accuracy,
            100.0 * c.val_verified_accuracy
        ),
        (None, None) => String::new(),
    };
    format!(
        "epoch {:>3}/{}  loss {:.4}  train {:.2}%  val {:.2}%{robust_note}  {:.2} s",
        rec.epoch,
        epochs,
        rec.train_loss,
        100.0 * rec.train_accuracy,
        100.0 * rec.val_accuracy,
        rec.seconds
    )
}
