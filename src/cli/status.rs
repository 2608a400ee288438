//! `aer status RUN_DIR`: every point of a sweep and how far it got, from the run directory
//! (whoever ran it: `aer run`, `--point`, the local executor or Slurm), with the Slurm task of
//! each point and Slurm's state of it where the sweep was submitted there.

use crate::pipeline::executor::slurm::{submissions, task_states, TaskState};
use crate::pipeline::sweep::{load_sweep, progress, PointProgress};
use crate::Result;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// A directory `aer run` wrote (its --out).
    pub dir: PathBuf,
}

pub fn run(args: &StatusArgs) -> Result<()> {
    let runs = load_sweep(&args.dir)?;
    let points = progress(&args.dir, &runs);
    let subs = submissions(&args.dir)?;
    let states = match task_states(&subs) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("note: Slurm could not be asked ({e}); the states below are the run directory's alone");
            BTreeMap::new()
        }
    };
    let mut counts = BTreeMap::<&str, usize>::new();
    println!("point\tstate\tstages\tslurm\trun");
    for p in &points {
        // The task running the point's shared stages, while it runs, else its own task.
        let (own, shared) = (states.get(&("points".to_string(), p.index)), states.get(&("shared".to_string(), p.index)));
        let slurm = shared.filter(|t| t.state == "RUNNING").or(own).or(shared);
        let (state, detail) = state(p, slurm);
        *counts.entry(state).or_default() += 1;
        let task = slurm.map(|t| format!("{} {}", t.task, t.state)).or_else(|| subs.iter().rev().find(|s| s.points.contains(&p.index)).map(|s| s.task(p.index))).unwrap_or_else(|| "-".into());
        let label = if p.label.is_empty() { p.dir.clone() } else { p.label.clone() };
        println!("{}\t{state}{detail}\t{}/{}\t{task}\t{label}", p.index, p.done, p.stages);
    }
    let line: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    eprintln!("{}: {} point{}: {}", args.dir.display(), points.len(), if points.len() == 1 { "" } else { "s" }, line.join(", "));
    Ok(())
}

/// A point's state, and what to add to it: its summary, a process or Slurm task running it,
/// its recorded failure, or Slurm's final word.
fn state(p: &PointProgress, slurm: Option<&TaskState>) -> (&'static str, String) {
    if p.finished {
        return ("finished", String::new());
    }
    if let Some(t) = slurm.filter(|t| t.active()) {
        return if t.state == "PENDING" || t.state.starts_with("REQUEUE") { ("pending", String::new()) } else { ("running", String::new()) };
    }
    if let Some(pid) = p.running_here {
        return ("running", format!(" (pid {pid})"));
    }
    if let Some(e) = &p.failed {
        return ("failed", format!(": {e}"));
    }
    if let Some(t) = slurm.filter(|t| ["FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"].contains(&t.state.as_str())) {
        return ("failed", format!(" (Slurm: {})", t.state));
    }
    if p.done > 0 {
        // Stopped part-way with nothing queued: a resubmission resumes it.
        return ("stopped", String::new());
    }
    ("pending", String::new())
}
