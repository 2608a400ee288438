//! A sweep's run directory as the record of its state: the pipeline file it runs (kept as
//! `sweep.toml`, so that every process of the sweep, on any machine, reads the same one) and,
//! per point, how far it got — read from the directory alone, whoever ran the point.

use super::rerun::{first_changed_stage, stage_dir};
use super::run::{first_difference, lock, StageRecord, FAILED_FILE};
use crate::files::DirLock;
use super::spec::{parse, Run};
use crate::error::{AerError, Result};
use std::path::Path;

/// The pipeline file of a sweep, as kept in its run directory.
pub const SWEEP_FILE: &str = "sweep.toml";

/// Keep `text` (the pipeline file that expands into `runs`, with any `--set` applied: see
/// `spec::effective_text`) as `out/sweep.toml`. A directory that holds another sweep is
/// refused with the first point that differs: another number of points, or a point whose
/// model, data, seed, val_size, train_examples or label (a swept value, so its directory)
/// differs. A sweep whose points differ only in their stages' settings replaces the one
/// kept, and each point's directory sets its changed stages aside at once (`run::lock`:
/// the stages before the first changed one are kept), so that the directory, which `aer
/// status` and the executors' plans read, shows what is left to run. Returns lines worth
/// saying (where old results went).
pub fn record_sweep(out: &Path, text: &str, runs: &[Run]) -> Result<Vec<String>> {
    let path = out.join(SWEEP_FILE);
    let mut notes = Vec::new();
    if let Ok(old) = std::fs::read_to_string(&path) {
        if old == text {
            return Ok(notes);
        }
        let before = parse(&old, &path.display().to_string(), usize::MAX)?;
        if before != runs {
            let json = |r: &Run| crate::files::to_json_value(&serde_json::json!({ "label": r.label, "pipeline": r.pipeline }));
            let refuse = |what: String| Err(AerError::file(&path, format!("holds another sweep ({what}); results are never mixed: use another --out, or delete {} to start over", out.display())));
            if before.len() != runs.len() {
                return refuse(format!("{} points before, {} now", before.len(), runs.len()));
            }
            for (i, (a, b)) in before.iter().zip(runs).enumerate() {
                let (a, b) = (json(a), json(b));
                if first_changed_stage(&a, &b).is_err() {
                    return refuse(format!("point {i}: {}", first_difference(&a, &b, String::new()).unwrap_or_default()));
                }
            }
            // Only stage settings changed: each point's directory follows now. None may be
            // in use (by a point of the old sweep).
            for run in runs {
                let dir = out.join(&run.dir);
                if let Some(pid) = crate::files::lock_holder(&dir) {
                    return Err(AerError::Invalid(format!("{} is in use (pid {pid}) by a point of the sweep kept in {}; wait for it before changing the sweep's settings", dir.display(), path.display())));
                }
            }
            for run in runs {
                let dir = out.join(&run.dir);
                if dir.join("run.json").exists() {
                    let _claim = DirLock::acquire(&dir, 2)?;
                    notes.extend(lock(&dir, run)?);
                }
            }
        }
    }
    crate::files::write_atomic(&path, text.as_bytes())?;
    Ok(notes)
}

/// The sweep kept in `out` (`aer status`, the executors).
pub fn load_sweep(out: &Path) -> Result<Vec<Run>> {
    let path = out.join(SWEEP_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| AerError::file(&path, format!("cannot read ({e}); is {} a directory `aer run` wrote?", out.display())))?;
    parse(&text, &path.display().to_string(), usize::MAX)
}

/// How far a point got, from its directory.
#[derive(Clone, Debug, PartialEq)]
pub struct PointProgress {
    pub index: usize,
    pub label: String,
    pub dir: String,
    /// Stages whose records are written, of `stages`.
    pub done: usize,
    pub stages: usize,
    /// `summary.json` is written.
    pub finished: bool,
    /// Why its last attempt failed, when it did (and has not run again since).
    pub failed: Option<String>,
    /// A process on this machine holds its directory.
    pub running_here: Option<u32>,
}

/// Every point of the sweep in `out`, as its directory shows it.
pub fn progress(out: &Path, runs: &[Run]) -> Vec<PointProgress> {
    runs.iter()
        .enumerate()
        .map(|(index, run)| {
            let dir = out.join(&run.dir);
            let done = run
                .pipeline
                .stages
                .iter()
                .enumerate()
                .take_while(|(i, s)| {
                    let path = stage_dir(&dir, *i, s.kind()).join("stage.json");
                    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str::<StageRecord>(&t).ok()).is_some()
                })
                .count();
            let failed = std::fs::read_to_string(dir.join(FAILED_FILE))
                .ok()
                .map(|t| serde_json::from_str::<serde_json::Value>(&t).ok().and_then(|v| v["error"].as_str().map(str::to_string)).unwrap_or_else(|| "unreadable failure record".into()));
            PointProgress {
                index,
                label: run.label.clone(),
                dir: run.dir.clone(),
                done,
                stages: run.pipeline.stages.len(),
                finished: dir.join("summary.json").exists(),
                failed,
                running_here: crate::files::lock_holder(&dir),
            }
        })
        .collect()
}
