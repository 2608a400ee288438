//! `aer run FILE --executor local --jobs N`: the plan's processes on this machine, at most N
//! at a time; each wave of shared jobs ends before the next wave, and the waves before the
//! points. Each process writes its output to `OUT/logs/`.

use super::{log_name, Plan, PointCommand};
use crate::error::{AerError, Result};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// What became of the points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalOutcome {
    pub finished: Vec<usize>,
    /// Points (or shared jobs, as `shared-K`) whose process failed, with their logs.
    pub failed: Vec<(String, std::path::PathBuf)>,
    /// Points not started because a shared job they need failed.
    pub skipped: Vec<usize>,
}

/// A process to start: its role (`shared` or `point`), point and stage count.
struct Task {
    role: &'static str,
    point: usize,
    stages: Option<usize>,
}

/// Run `plan` with at most `jobs` processes at once; `prerequisites(p)` are the points whose
/// shared jobs point `p` needs. `on(line)` reports each start and end.
pub fn run_local(plan: &Plan, cmd: &PointCommand, out: &Path, jobs: usize, prerequisites: &dyn Fn(usize) -> Vec<usize>, on: &mut dyn FnMut(String)) -> Result<LocalOutcome> {
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| AerError::file(&logs, format!("cannot create directory: {e}")))?;
    let mut outcome = LocalOutcome::default();
    let mut failed_shared = HashSet::new();
    for wave in &plan.waves {
        let tasks: Vec<Task> = wave.iter().filter(|j| j.after.iter().all(|a| !failed_shared.contains(a))).map(|j| Task { role: "shared", point: j.point, stages: Some(j.stages) }).collect();
        for (task, ok) in run_all(&tasks, cmd, out, jobs, on)? {
            if !ok {
                failed_shared.insert(task.point);
                outcome.failed.push((format!("shared-{}", task.point), logs.join(log_name("shared", task.point))));
            }
        }
    }
    let mut tasks = Vec::new();
    for &p in &plan.points {
        if prerequisites(p).iter().any(|o| failed_shared.contains(o)) {
            outcome.skipped.push(p);
        } else {
            tasks.push(Task { role: "point", point: p, stages: None });
        }
    }
    for (task, ok) in run_all(&tasks, cmd, out, jobs, on)? {
        if ok {
            outcome.finished.push(task.point);
        } else {
            outcome.failed.push((task.point.to_string(), logs.join(log_name("point", task.point))));
        }
    }
    Ok(outcome)
}

/// Every task, at most `jobs` at once; each with whether its process succeeded.
fn run_all<'a>(tasks: &'a [Task], cmd: &PointCommand, out: &Path, jobs: usize, on: &mut dyn FnMut(String)) -> Result<Vec<(&'a Task, bool)>> {
    let mut done = Vec::new();
    let mut running: Vec<(&Task, Child)> = Vec::new();
    let mut next = tasks.iter();
    loop {
        while running.len() < jobs.max(1) {
            let Some(task) = next.next() else { break };
            running.push((task, start(task, cmd, out)?));
            on(format!("started {} {}{}", task.role, task.point, task.stages.map(|n| format!(" (its first {n} stages)")).unwrap_or_default()));
        }
        if running.is_empty() {
            return Ok(done);
        }
        let mut still = Vec::new();
        for (task, mut child) in running {
            match child.try_wait().map_err(|e| AerError::Invalid(format!("cannot wait for the process of {} {}: {e}", task.role, task.point)))? {
                Some(status) => {
                    on(format!("{} {} {}", task.role, task.point, if status.success() { "finished".to_string() } else { format!("failed ({status}): see {}", out.join("logs").join(log_name(task.role, task.point)).display()) }));
                    done.push((task, status.success()));
                }
                None => still.push((task, child)),
            }
        }
        running = still;
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn start(task: &Task, cmd: &PointCommand, out: &Path) -> Result<Child> {
    let log_path = out.join("logs").join(log_name(task.role, task.point));
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| AerError::file(&log_path, format!("cannot open the log: {e}")))?;
    let err = log.try_clone().map_err(|e| AerError::file(&log_path, format!("cannot open the log: {e}")))?;
    let stages = task.stages.map(|n| n.to_string());
    Command::new(&cmd.program)
        .args(cmd.args(out, &task.point.to_string(), stages.as_deref()))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| AerError::Invalid(format!("cannot start {} for {} {}: {e}", cmd.program.display(), task.role, task.point)))
}
