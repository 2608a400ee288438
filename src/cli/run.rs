//! `aer run`: a pipeline file's runs, with a progress bar per stage.

use super::common::open;
use super::options::GpuArgs;
use super::progress::{epoch_line, work_bar};
use crate::pipeline::{parse_with, run_pipeline, Event, RunOptions};
use crate::train::FitEvent;
use crate::{AerError, Result};
use clap::Args;
use indicatif::ProgressBar;
use pollster::block_on;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// The pipeline file (TOML); presets are in assets/pipelines/.
    pub file: PathBuf,
    /// Directory of the runs [default: runs/<pipeline name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most runs the file's sweeps may expand into; more are refused before anything runs.
    #[arg(long, default_value_t = crate::pipeline::MAX_RUNS)]
    pub max_runs: usize,
    /// Replace or add a setting of the file without editing it: a dotted path into the TOML,
    /// stages by 0-based index, and a TOML value (`--set seed=1`, `--set
    /// stages.2.attack.eps=0.2`, `--set stages.1.sparsity=[0.5,0.9]`); repeatable. In a run
    /// directory made before, the stages before the first changed one are kept.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub fn run(gpu_args: &GpuArgs, args: &PipelineArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    let text = std::fs::read_to_string(&args.file).map_err(|e| AerError::file(&args.file, format!("cannot read: {e}")))?;
    let runs = parse_with(&text, &args.file.display().to_string(), args.max_runs, &args.set)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&runs[0].pipeline.name));
    let gpu = open(choice)?;
    eprintln!("pipeline {}: {} run{}, {} stages each, into {} ({})", runs[0].pipeline.name, runs.len(), if runs.len() == 1 { "" } else { "s" }, runs[0].pipeline.stages.len(), out.display(), gpu.adapter_label());
    // One bar per stage, over all its epochs' batches.
    let mut bar: Option<ProgressBar> = None;
    let (mut stage, mut stages, mut epochs, mut base) = (0, 0, 0, 0);
    let summaries = block_on(run_pipeline(&gpu, &runs, &out, &RunOptions { dense_kernels }, &mut |ev| match ev {
        Event::Run { index, runs, label, dir } => {
            let what = if label.is_empty() { String::new() } else { format!(" {label}") };
            eprintln!("run {}/{runs}{what} -> {}", index + 1, dir.display());
        }
        Event::Stage { index, stages: n, .. } => (stage, stages) = (index, n),
        Event::Reused { index, kind, summary } => eprintln!("  stage {}/{} {kind}: finished earlier: {summary}", index + 1, runs[0].pipeline.stages.len()),
        Event::Fit(FitEvent::EpochStart { epoch, epochs: e, batches }) => {
            epochs = e;
            base = epoch * batches;
            let b = bar.get_or_insert_with(|| work_bar(&format!("  stage {}/{stages}", stage + 1), e * batches, "batches"));
            b.set_position(base as u64);
        }
        Event::Fit(FitEvent::Batch { done }) => {
            if let Some(b) = &bar {
                b.set_position((base + done) as u64);
            }
        }
        Event::Fit(FitEvent::EpochDone(rec)) => say(&bar, format!("    {}", epoch_line(rec, epochs))),
        Event::Fit(FitEvent::Note(s)) => say(&bar, format!("    {s}")),
        Event::Done { index, kind, summary, seconds } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!("  stage {}/{stages} {kind}: {summary}  ({seconds:.1} s)", index + 1);
        }
    }))?;
    for s in &summaries {
        let robust = s.worst_robust_accuracy.map(|w| format!("  worst-case robust {:.2}%", 100.0 * w)).unwrap_or_default();
        println!("{}{}: test {:.2}%{robust}  sparsity {:.1}%  {:.2} bits/weight  {} B  ({:.0} s)", s.pipeline, if s.label.is_empty() { String::new() } else { format!(" [{}]", s.label) }, 100.0 * s.test_accuracy, 100.0 * s.sparsity, s.weight_bits, s.model_bytes, s.seconds);
    }
    eprintln!("report: aer report {}", out.display());
    Ok(())
}

/// A line above the bar; a hidden bar (standard error is not a terminal) prints nothing, so
/// then the line goes straight to standard error.
fn say(bar: &Option<ProgressBar>, line: String) {
    match bar {
        Some(b) if !b.is_hidden() => b.println(line),
        _ => eprintln!("{line}"),
    }
}
