//! A sweep's run directory as the record of its state: the pipeline file it runs (kept as
//! `sweep.toml`, so that every process of the sweep, on any machine, reads the same one) and,
//! per point, how far it got — read from the directory alone, whoever ran the point.

use super::run::{first_difference, StageRecord, FAILED_FILE};
use super::spec::{parse, Run};
use crate::error::{AerError, Result};
use std::path::{Path, PathBuf};

/// The pipeline file of a sweep, as kept in its run directory.
pub const SWEEP_FILE: &str = "sweep.toml";

/// Keep `text` (the pipeline file that expands into `runs`) as `out/sweep.toml`; a directory
/// that holds another sweep is refused with the first point that differs.
pub fn record_sweep(out: &Path, text: &str, runs: &[Run]) -> Result<PathBuf> {
    let path = out.join(SWEEP_FILE);
    if let Ok(old) = std::fs::read_to_string(&path) {
        if old == text {
            return Ok(path);
        }
        let before = parse(&old, &path.display().to_string(), usize::MAX)?;
        if before != runs {
            let json = |r: &Run| crate::files::to_json_value(&serde_json::json!({ "label": r.label, "pipeline": r.pipeline }));
            let what = match before.iter().zip(runs).position(|(a, b)| a != b) {
                Some(i) => format!("point {i}: {}", first_difference(&json(&before[i]), &json(&runs[i]), String::new()).unwrap_or_default()),
                None => format!("{} points before, {} now", before.len(), runs.len()),
            };
            return Err(AerError::file(&path, format!("holds another sweep ({what}); results are never mixed: use another --out, or delete {} to start over", out.display())));
        }
    }
    crate::files::write_atomic(&path, text.as_bytes())?;
    Ok(path)
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
                    let path = dir.join(format!("{:02}-{}", i + 1, s.kind())).join("stage.json");
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
