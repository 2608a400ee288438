//! Which stages of a run directory run again, and where their old results go. A stage runs
//! again when its settings changed (and every stage after it, whose input it made), when its
//! checkpoint was deleted, or when a stage before it ran again. Its old directory is moved to
//! `replaced/` in the run directory, never deleted: nothing written is lost, and a training
//! stage that runs again starts fresh instead of resuming the old settings' epochs.

use crate::error::{AerError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The directory of stage `i` (0-based) of kind `kind` in run directory `dir`.
pub fn stage_dir(dir: &Path, i: usize, kind: &str) -> PathBuf {
    dir.join(format!("{:02}-{kind}", i + 1))
}

/// The first stage whose settings differ between two run configurations (as `run.json`
/// holds them), or None when only their stages' settings are the same; Err(()) when they
/// differ outside their stages (model, data, seed...), which no stage-wise rerun can serve.
pub fn first_changed_stage(old: &Value, new: &Value) -> std::result::Result<Option<usize>, ()> {
    let without_stages = |v: &Value| {
        let mut v = v.clone();
        if let Some(p) = v.get_mut("pipeline").and_then(Value::as_object_mut) {
            p.remove("stages");
        }
        v
    };
    if without_stages(old) != without_stages(new) {
        return Err(());
    }
    let stages = |v: &Value| v["pipeline"]["stages"].as_array().cloned().unwrap_or_default();
    let (a, b) = (stages(old), stages(new));
    Ok((0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)))
}

/// Move stage directory `sdir` (when it exists) into `<dir>/replaced/`, under its own name
/// and the first free number; returns a line saying so.
pub fn set_aside(dir: &Path, sdir: &Path) -> Result<Option<String>> {
    if !sdir.exists() {
        return Ok(None);
    }
    let name = sdir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let to_dir = dir.join("replaced");
    std::fs::create_dir_all(&to_dir).map_err(|e| AerError::file(&to_dir, format!("cannot create directory: {e}")))?;
    let to = (1..).map(|k| to_dir.join(format!("{name}.{k}"))).find(|p| !p.exists()).expect("a free name");
    std::fs::rename(sdir, &to).map_err(|e| AerError::file(sdir, format!("cannot move the stage's old results to {}: {e}", to.display())))?;
    Ok(Some(format!("{} runs again: its old results are in {}", name, to.display())))
}

/// Set aside the directories of the old configuration's stages from `from` on (their kinds
/// as the old `run.json` names them).
pub fn set_aside_from(dir: &Path, old: &Value, from: usize) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    for (i, s) in old["pipeline"]["stages"].as_array().into_iter().flatten().enumerate().skip(from) {
        if let Some(kind) = s["kind"].as_str() {
            notes.extend(set_aside(dir, &stage_dir(dir, i, kind))?);
        }
    }
    Ok(notes)
}
