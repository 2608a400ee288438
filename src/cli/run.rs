//! `aer run`: a pipeline file's runs, with a progress bar per stage; in this process, one
//! point of the sweep (`--point`), or as one process per point through an executor
//! (`--executor local|slurm`).

use super::common::open;
use super::options::GpuArgs;
use super::progress::{epoch_line, work_bar};
use crate::pipeline::executor::local::run_local;
use crate::pipeline::executor::slurm::{submit, SlurmOptions};
use crate::pipeline::executor::{on_shared_file_system, Plan, PointCommand};
use crate::pipeline::sweep::record_sweep;
use crate::pipeline::{effective_text, parse_with, run_pipeline, run_point, Event, RunOptions, RunSummary, SweepGraph};
use crate::train::FitEvent;
use crate::{AerError, Result};
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use pollster::block_on;
use std::collections::HashSet;
use std::path::PathBuf;

/// Where the points of a sweep run as processes of their own.
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum Executor {
    /// On this machine, --jobs at a time.
    Local,
    /// As Slurm job arrays (sbatch), one task per point.
    Slurm,
}

#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// The pipeline file (TOML); presets are in assets/pipelines/.
    pub file: PathBuf,
    /// Directory of the runs [default: runs/<pipeline name>].
    #[arg(help_heading = "Run", long)]
    pub out: Option<PathBuf>,
    /// Most runs the file's sweeps may expand into; more are refused before anything runs.
    #[arg(help_heading = "Run", long, default_value_t = crate::pipeline::MAX_RUNS)]
    pub max_runs: usize,
    /// Run only this point of the sweep (0-based, in the order `aer status` lists them), and
    /// first the stages it shares with other points when they have not run yet. Several
    /// points may run at once into one --out.
    #[arg(help_heading = "Run", long, conflicts_with = "executor")]
    pub point: Option<usize>,
    /// With --point: run only the point's first this many stages.
    #[arg(help_heading = "Run", long, requires = "point")]
    pub stages: Option<usize>,
    /// Run every point as a process of its own: `local` on this machine, `slurm` as Slurm job
    /// arrays; the stages several points share run first, once.
    #[arg(help_heading = "Executor", long, value_enum)]
    pub executor: Option<Executor>,
    /// With --executor local: points running at once.
    #[arg(help_heading = "Executor", long, default_value_t = 1, value_parser = super::options::at_least_one)]
    pub jobs: usize,
    /// With --executor slurm: the partition (sbatch --partition).
    #[arg(help_heading = "Slurm", long)]
    pub partition: Option<String>,
    /// With --executor slurm: GPUs per task (sbatch --gpus-per-task).
    #[arg(help_heading = "Slurm", long)]
    pub gpus_per_task: Option<u32>,
    /// With --executor slurm: time limit per task (sbatch --time: 30, 2:00:00, 1-00:00:00).
    #[arg(help_heading = "Slurm", long)]
    pub time: Option<String>,
    /// With --executor slurm: most tasks of one array running at once (--array=...%K).
    #[arg(help_heading = "Slurm", long, value_parser = super::options::at_least_one)]
    pub max_parallel: Option<usize>,
    /// With --executor slurm: one more sbatch option, as one word (--sbatch-arg=--account=x);
    /// repeat for more.
    #[arg(help_heading = "Slurm", long, allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// With --executor slurm: write the batch scripts into OUT/slurm/ and say what would be
    /// submitted, without submitting.
    #[arg(help_heading = "Slurm", long)]
    pub dry_run: bool,
    /// Replace or add a setting of the file without editing it: a dotted path into the TOML,
    /// stages by 0-based index, and a TOML value (`--set seed=1`, `--set
    /// stages.2.attack.eps=0.2`, `--set stages.1.sparsity=[0.5,0.9]`); repeatable. In a run
    /// directory made before, the stages before the first changed one are kept.
    #[arg(help_heading = "Run", long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &PipelineArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| AerError::file(&args.file, format!("cannot read: {e}")))?;
    let origin = args.file.display().to_string();
    let runs = parse_with(&text, &origin, args.max_runs, &args.set)?;
    // What the run directory keeps as sweep.toml: the file with the --set settings in it,
    // so that the point processes (which read that copy, without --set) run the same sweep.
    let text = effective_text(&text, &origin, &args.set)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&runs[0].pipeline.name));
    check_executor_options(args)?;
    if let Some(point) = args.point {
        if point >= runs.len() {
            return Err(AerError::Invalid(format!("--point {point} is out of range: {} has {} point{} (0 to {})", args.file.display(), runs.len(), if runs.len() == 1 { "" } else { "s" }, runs.len() - 1)));
        }
    }
    // The file every process of the sweep reads, and the record that `aer status` reads (a
    // whole run keeps it once it holds the directory).
    if args.executor.is_some() || args.point.is_some() {
        std::fs::create_dir_all(&out).map_err(|e| AerError::file(&out, format!("cannot create directory: {e}")))?;
        for note in record_sweep(&out, &text, &runs)? {
            eprintln!("{note}");
        }
    }
    match args.executor {
        Some(executor) => return run_executor(executor, gpu_args, args, &runs, &out),
        None => super::stop::stop_between_writes_on_sigterm(),
    }
    let gpu = open(&gpu_args.choice())?;
    let opts = RunOptions { dense_kernels: gpu_args.dense_kernels, sweep_file: args.point.is_none().then(|| text.clone()) };
    let mut printer = Printer::new(runs[0].pipeline.stages.len());
    let summaries = match args.point {
        Some(point) => {
            let what = runs[point].label.clone();
            eprintln!("pipeline {}: point {point}/{} {what}, into {} ({})", runs[0].pipeline.name, runs.len(), out.display(), gpu.adapter_label());
            block_on(run_point(&gpu, &runs, point, args.stages, &out, &opts, &mut |ev| printer.on(ev)))?.into_iter().collect()
        }
        None => {
            eprintln!("pipeline {}: {} run{}, {} stages each, into {} ({})", runs[0].pipeline.name, runs.len(), if runs.len() == 1 { "" } else { "s" }, runs[0].pipeline.stages.len(), out.display(), gpu.adapter_label());
            block_on(run_pipeline(&gpu, &runs, &out, &opts, &mut |ev| printer.on(ev)))?
        }
    };
    print_summaries(&summaries);
    if args.point.is_none() || summaries.len() == 1 {
        eprintln!("report: aer report {}", out.display());
    }
    Ok(())
}

/// Options of one executor given without it (or with the other) are refused, not ignored.
fn check_executor_options(args: &PipelineArgs) -> Result<()> {
    let slurm_given = args.partition.is_some() || args.gpus_per_task.is_some() || args.time.is_some() || args.max_parallel.is_some() || !args.sbatch_arg.is_empty() || args.dry_run;
    if slurm_given && args.executor != Some(Executor::Slurm) {
        return Err(AerError::Invalid("--partition, --gpus-per-task, --time, --max-parallel, --sbatch-arg and --dry-run are settings of --executor slurm; add it".into()));
    }
    if args.jobs != 1 && args.executor != Some(Executor::Local) {
        return Err(AerError::Invalid("--jobs is a setting of --executor local; add it (Slurm's counterpart is --max-parallel)".into()));
    }
    Ok(())
}

fn run_executor(executor: Executor, gpu_args: &GpuArgs, args: &PipelineArgs, runs: &[crate::pipeline::Run], out: &std::path::Path) -> Result<()> {
    let cmd = point_command(gpu_args)?;
    let name = &runs[0].pipeline.name;
    match executor {
        Executor::Local => {
            let plan = Plan::from_dir(out, runs, &HashSet::new(), &HashSet::new());
            let shared: usize = plan.waves.iter().map(Vec::len).sum();
            eprintln!("pipeline {name}: {} point{} to run ({} finished earlier), {shared} shared job{} first, {} at a time, into {} (logs in {})", plan.points.len(), if plan.points.len() == 1 { "" } else { "s" }, runs.len() - plan.points.len(), if shared == 1 { "" } else { "s" }, args.jobs, out.display(), out.join("logs").display());
            let graph = SweepGraph::new(runs);
            let prerequisites = |p: usize| graph.prerequisites(p, runs[p].pipeline.stages.len()).into_iter().map(|(o, _)| o).collect();
            let outcome = run_local(&plan, &cmd, out, args.jobs, &prerequisites, &mut |line| eprintln!("  {line}"))?;
            let summaries = crate::report::aer::collect(out).unwrap_or_default();
            print_summaries(&summaries);
            if !outcome.failed.is_empty() || !outcome.skipped.is_empty() {
                let failed: Vec<String> = outcome.failed.iter().map(|(what, log)| format!("{what} (log: {})", log.display())).collect();
                let skipped = if outcome.skipped.is_empty() { String::new() } else { format!("; not started, as a shared job they need failed: points {:?}", outcome.skipped) };
                return Err(AerError::Invalid(format!("points failed: {}{skipped}; run the same command again to run what is missing", failed.join(", "))));
            }
            eprintln!("report: aer report {}", out.display());
            Ok(())
        }
        Executor::Slurm => {
            if let Some((false, what)) = on_shared_file_system(out) {
                eprintln!("warning: {} is on {what}, not a network file system: tasks on other nodes will not find it unless every node mounts it (a one-node Slurm is fine)", out.display());
            }
            let opts = SlurmOptions { partition: args.partition.clone(), gpus_per_task: args.gpus_per_task, time: args.time.clone(), max_parallel: args.max_parallel, sbatch_args: args.sbatch_arg.clone() };
            let done = submit(out, runs, &cmd, &opts, args.dry_run)?;
            if done.arrays.is_empty() {
                let active = if done.active.is_empty() { String::new() } else { format!(", {} queued or running", done.active.len()) };
                eprintln!("pipeline {name}: nothing to submit ({} of {} points finished{active}); aer status {}", done.finished, runs.len(), out.display());
                return Ok(());
            }
            let verb = if args.dry_run { "would submit" } else { "submitted" };
            eprintln!("pipeline {name}: {verb} {} array{} ({} task{}) into {}", done.arrays.len(), if done.arrays.len() == 1 { "" } else { "s" }, done.tasks(), if done.tasks() == 1 { "" } else { "s" }, out.display());
            for a in &done.arrays {
                let after = if a.after.is_empty() { String::new() } else { format!(", after {}", a.after.join(", ")) };
                println!("{}\t{}\tpoints {}\t{}{after}", a.job, a.role, crate::pipeline::executor::slurm::array_spec(&a.points), out.join(&a.script).display());
            }
            if done.finished > 0 || !done.active.is_empty() {
                eprintln!("left out: {} finished point{}, {} queued or running", done.finished, if done.finished == 1 { "" } else { "s" }, done.active.len());
            }
            eprintln!("progress: aer status {}; when all have finished: aer report {}", out.display(), out.display());
            Ok(())
        }
    }
}

/// How the executors start this `aer` for a point: the same program, with the same adapter
/// settings.
fn point_command(gpu_args: &GpuArgs) -> Result<PointCommand> {
    let program = std::env::current_exe().map_err(|e| AerError::Invalid(format!("cannot tell where this aer program is, to start it for each point: {e}")))?;
    Ok(PointCommand { program, gpu_args: gpu_flags(gpu_args) })
}

/// The flags that give a point's process the adapter and kernels of this one.
fn gpu_flags(gpu_args: &GpuArgs) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(a) = &gpu_args.device.adapter {
        flags.extend(["--adapter".to_string(), a.clone()]);
    }
    if let Some(b) = &gpu_args.device.backend {
        flags.extend(["--backend".to_string(), b.clone()]);
    }
    if gpu_args.dense_kernels {
        flags.push("--dense-kernels".into());
    }
    flags
}

fn print_summaries(summaries: &[RunSummary]) {
    for s in summaries {
        let robust = s.worst_robust_accuracy.map(|w| format!("  worst-case robust {:.2}%", 100.0 * w)).unwrap_or_default();
        println!("{}{}: test {:.2}%{robust}  sparsity {:.1}%  {:.2} bits/weight  {} B  ({:.0} s)", s.pipeline, if s.label.is_empty() { String::new() } else { format!(" [{}]", s.label) }, 100.0 * s.test_accuracy, 100.0 * s.sparsity, s.weight_bits, s.model_bytes, s.seconds);
    }
}

/// The progress of a pipeline on standard error: one bar per stage, over all its epochs'
/// batches, and a line per run, epoch and finished stage.
struct Printer {
    stages_per_run: usize,
    bar: Option<ProgressBar>,
    stage: usize,
    stages: usize,
    epochs: usize,
    base: usize,
}

impl Printer {
    fn new(stages_per_run: usize) -> Printer {
        Printer { stages_per_run, bar: None, stage: 0, stages: 0, epochs: 0, base: 0 }
    }

    fn on(&mut self, ev: Event) {
        match ev {
            Event::Run { index, runs, label, dir } => {
                let what = if label.is_empty() { String::new() } else { format!(" {label}") };
                eprintln!("run {}/{runs}{what} -> {}", index + 1, dir.display());
            }
            Event::Stage { index, stages: n, .. } => (self.stage, self.stages) = (index, n),
            Event::Reused { index, kind, summary } => eprintln!("  stage {}/{} {kind}: finished earlier: {summary}", index + 1, self.stages_per_run),
            Event::Fit(FitEvent::EpochStart { epoch, epochs: e, batches }) => {
                self.epochs = e;
                self.base = epoch * batches;
                let stage = self.stage;
                let stages = self.stages;
                let b = self.bar.get_or_insert_with(|| work_bar(&format!("  stage {}/{stages}", stage + 1), e * batches, "batches"));
                b.set_position(self.base as u64);
            }
            Event::Fit(FitEvent::Batch { done }) => {
                if let Some(b) = &self.bar {
                    b.set_position((self.base + done) as u64);
                }
            }
            Event::Fit(FitEvent::EpochDone(rec)) => say(&self.bar, format!("    {}", epoch_line(rec, self.epochs))),
            Event::Fit(FitEvent::Note(s)) => say(&self.bar, format!("    {s}")),
            Event::Done { index, kind, summary, seconds } => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                eprintln!("  stage {}/{} {kind}: {summary}  ({seconds:.1} s)", index + 1, self.stages);
            }
        }
    }
}

/// A line above the bar; a hidden bar (standard error is not a terminal) prints nothing, so
/// then the line goes straight to standard error.
fn say(bar: &Option<ProgressBar>, line: String) {
    match bar {
        Some(b) if !b.is_hidden() => b.println(line),
        _ => eprintln!("{line}"),
    }
}
