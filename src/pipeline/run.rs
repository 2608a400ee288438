//! Running a pipeline: each run in its own directory, each stage in its own subdirectory,
//! finished when its `stage.json` is written (atomically, last). A run that is stopped
//! resumes from its last finished stage, and a training stage from its last finished epoch;
//! with the same seed it ends with the same numbers. A run directory whose `run.json` holds
//! another configuration is refused, never mixed with new results; one whose stages'
//! settings changed keeps the stages before the first changed one and runs the rest again
//! (`rerun`). A finished stage's checkpoint is checked (CRC) before it is used again.

use crate::files::{write_json, DirLock};
use super::graph::SweepGraph;
use super::sweep::record_sweep;
use super::spec::{Pipeline, Run, Stage};
use super::summary::{summarise, RunSummary};
use super::validate::{check_with_data, DataShape};
use super::rerun::{first_changed_stage, set_aside, set_aside_from, stage_dir};
use crate::attack::{evaluate_robustness_logged, robustness_curve, sanity_checks, NoLog, SuiteConfig};
use crate::gpu::time_async;
use crate::data::Splits;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::ModelSpec;
use crate::nn::quant::QuantSpec;
use crate::methods::REGISTRY;
use crate::sparse::GradualPrune;
use crate::train::{block_sparse, evaluate, fit, Checkpoint, FitEvent, FitOptions, TrainConfig};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use web_time::Instant;

/// Version of the run directory's layout; a directory of another version is refused.
pub const RUN_FORMAT: u32 = 1;

#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Never use the block-sparse kernels.
    pub dense_kernels: bool,
    /// The pipeline file's text, kept as `OUT/sweep.toml` (`aer status` and the executors
    /// read it) once the directory is taken and its runs' configurations are checked.
    pub sweep_file: Option<String>,
}

/// What a pipeline reports while it runs.
pub enum Event<'a> {
    Run { index: usize, runs: usize, label: &'a str, dir: &'a Path },
    Stage { index: usize, stages: usize, kind: &'static str },
    /// A stage finished in an earlier invocation, whose results are used as they are.
    Reused { index: usize, kind: &'static str, summary: String },
    Fit(FitEvent<'a>),
    Done { index: usize, kind: &'static str, summary: String, seconds: f64 },
}

/// A finished stage, as `stage.json` holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    pub index: usize,
    pub kind: String,
    /// The checkpoint this stage produced, relative to the run directory (None: the stage
    /// passes the previous model on).
    pub checkpoint: Option<String>,
    pub result: Value,
    pub seconds: f64,
    pub adapter: String,
    /// The run whose identical stage (same settings, same stages before it) this one reuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_from: Option<String>,
}

/// The data of the runs so far, loaded once for every run of a sweep that does not change it.
type DataCache = Option<(Value, Splits)>;

/// Run every run of a pipeline file into `out`, one directory each.
pub async fn run_pipeline(gpu: &Gpu, runs: &[Run], out: &Path, opts: &RunOptions, on: &mut dyn FnMut(Event)) -> Result<Vec<RunSummary>> {
    // The whole run directory is this pipeline's until it returns (each run's directory and
    // each training stage's subdirectory are locked again); temp files of interrupted runs
    // are removed.
    let claim = DirLock::acquire(out, 3)?;
    claim.notes.iter().for_each(|n| on(Event::Fit(FitEvent::Note(n.clone()))));
    // Every run's settings against its data before the first stage of the first run.
    let mut data = None;
    check_runs(gpu, runs, &mut data)?;
    // A changed file is refused before anything runs, naming the first setting that differs
    // (a change of stage settings only is allowed: `lock` sets the changed stages aside when
    // the run's turn comes).
    for run in runs {
        examine(&out.join(&run.dir), run)?;
    }
    if let Some(text) = &opts.sweep_file {
        record_sweep(out, text, runs)?.into_iter().for_each(|n| on(Event::Fit(FitEvent::Note(n))));
    }
    let graph = SweepGraph::new(runs);
    let mut summaries = Vec::new();
    for i in 0..runs.len() {
        // Every stage this run reuses belongs to an earlier run, finished by now.
        let summary = run_one(gpu, runs, &graph, i, None, out, opts, &mut data, on).await?;
        summaries.push(summary.expect("a whole run ends with its summary"));
    }
    Ok(summaries)
}

/// Check every run's settings against its data (`validate::check_with_data`), loading each
/// data set once into `data`.
fn check_runs(gpu: &Gpu, runs: &[Run], data: &mut DataCache) -> Result<()> {
    let origin = runs.first().map(|r| format!("pipeline '{}'", r.pipeline.name)).unwrap_or_default();
    check_with_data(&origin, runs, gpu.limits.max_storage_buffer_binding_size, &mut |run| {
        let splits = load_data(data, run)?;
        Ok(DataShape { input: splits.train.shape, classes: splits.classes, train: splits.train.len() })
    })
}

/// The data of `run`, from `data` when the previous run's data is the same (runs of a sweep
/// share their data unless they change it).
fn load_data<'a>(data: &'a mut DataCache, run: &Run) -> Result<&'a Splits> {
    let key = json!([run.pipeline.data, run.pipeline.val_size, run.pipeline.train_examples]);
    if data.as_ref().is_none_or(|(k, _)| k != &key) {
        *data = Some((key, load_splits(&run.pipeline)?));
    }
    Ok(&data.as_ref().expect("loaded above").1)
}

/// Run one point of a sweep (`aer run --point`), through its first `stages` stages (all
/// when None): first the stages it reuses from other points that have not run yet (at the
/// points that own them, in their directories), then its own. Several points may run at
/// once in one directory (the executors do): each locks only the run directories it
/// writes. The point's summary when it ran through its last stage.
pub async fn run_point(gpu: &Gpu, runs: &[Run], point: usize, stages: Option<usize>, out: &Path, opts: &RunOptions, on: &mut dyn FnMut(Event)) -> Result<Option<RunSummary>> {
    if point >= runs.len() {
        return Err(AerError::Invalid(format!("point {point} is out of range: the sweep has {} point{} (0 to {})", runs.len(), if runs.len() == 1 { "" } else { "s" }, runs.len().saturating_sub(1))));
    }
    let total = runs[point].pipeline.stages.len();
    let n = stages.unwrap_or(total);
    if n == 0 || n > total {
        return Err(AerError::Invalid(format!("--stages {n} is out of range: the pipeline has {total} stage{} (give 1 to {total})", if total == 1 { "" } else { "s" })));
    }
    if let Some(pid) = crate::files::lock_holder(out) {
        return Err(AerError::Invalid(format!("{} is in use by a whole-sweep aer run (pid {pid}); wait for it before running single points into it", out.display())));
    }
    // Every run of the sweep, not only this point's: a bad setting is refused by the first
    // point process that starts, before any stage of any point runs.
    let mut data = None;
    check_runs(gpu, runs, &mut data)?;
    let graph = SweepGraph::new(runs);
    for (owner, k) in graph.prerequisites(point, n) {
        if !stages_finished(runs, owner, k, out)? {
            run_one(gpu, runs, &graph, owner, Some(k), out, opts, &mut data, on).await?;
        }
    }
    run_one(gpu, runs, &graph, point, stages, out, opts, &mut data, on).await
}

/// Whether point `r`'s first `n` stages have finished (their records written, their
/// checkpoints intact) under its current settings (`run.json` unchanged).
fn stages_finished(runs: &[Run], r: usize, n: usize, out: &Path) -> Result<bool> {
    let dir = out.join(&runs[r].dir);
    if let Claim::Changed { from, .. } = examine(&dir, &runs[r])?.1 {
        if from < n {
            return Ok(false);
        }
    }
    for (i, stage) in runs[r].pipeline.stages.iter().take(n).enumerate() {
        if finished(&stage_dir(&dir, i, stage.kind()).join("stage.json"), &dir)?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The file that records why a point failed (removed when it runs again).
pub const FAILED_FILE: &str = "failed.json";

/// Run point `i` in its directory through its first `stages` stages (all when None), with
/// its directory locked; its summary when it ran through the last stage. A failure is
/// recorded in the directory (`failed.json`) for `aer status`.
#[allow(clippy::too_many_arguments)]
async fn run_one(gpu: &Gpu, runs: &[Run], graph: &SweepGraph, i: usize, stages: Option<usize>, out: &Path, opts: &RunOptions, data: &mut DataCache, on: &mut dyn FnMut(Event)) -> Result<Option<RunSummary>> {
    let run = &runs[i];
    let dir = out.join(&run.dir);
    on(Event::Run { index: i, runs: runs.len(), label: &run.label, dir: &dir });
    let claim = DirLock::acquire(&dir, 2)?;
    claim.notes.iter().for_each(|n| on(Event::Fit(FitEvent::Note(n.clone()))));
    for note in lock(&dir, run)? {
        on(Event::Fit(FitEvent::Note(note)));
    }
    let failed = dir.join(FAILED_FILE);
    if failed.exists() {
        std::fs::remove_file(&failed).map_err(|e| AerError::file(&failed, format!("cannot remove the record of an earlier failure: {e}")))?;
    }
    let result: Result<Option<RunSummary>> = async {
        let splits = load_data(data, run)?;
        let n = stages.unwrap_or(run.pipeline.stages.len());
        let records = run_stages(gpu, runs, graph, i, n, splits, out, opts, on).await?;
        if n < run.pipeline.stages.len() {
            return Ok(None);
        }
        let summary = summarise(gpu, run, splits, &dir, records, opts.dense_kernels).await?;
        write_json(&dir.join("summary.json"), &summary)?;
        Ok(Some(summary))
    }
    .await;
    if let Err(e) = &result {
        // Best effort: the error itself is what the caller reports.
        let _ = write_json(&failed, &json!({ "error": e.to_string(), "stages": stages }));
    }
    result
}

fn load_splits(p: &Pipeline) -> Result<Splits> {
    let data = p.data.clone().unwrap_or_else(|| PathBuf::from(crate::data::BUNDLED));
    let mut splits = crate::data::open(&data, p.val_size)?;
    if p.train_examples > 0 {
        splits.train = splits.train.head(p.train_examples);
    }
    Ok(splits)
}

/// What a run directory's `run.json` says about a run (`examine`).
pub(crate) enum Claim {
    /// No `run.json` yet.
    New,
    /// The same run.
    Same,
    /// The same run but for the settings of stages `from` (0-based) on.
    Changed { have: Value, from: usize },
}

/// Compare `dir`'s `run.json` with `run`, changing nothing: the run's `run.json` as it
/// would be written, and what the one there says. Another configuration (model, data, seed,
/// label...) is an error that names the first difference.
pub(crate) fn examine(dir: &Path, run: &Run) -> Result<(Value, Claim)> {
    let path = dir.join("run.json");
    // As written and read back (numbers as they print), so that the same run compares equal.
    let want = crate::files::to_json_value(&json!({ "format": RUN_FORMAT, "label": run.label, "pipeline": run.pipeline }));
    if !path.exists() {
        return Ok((want, Claim::New));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| AerError::file(&path, format!("cannot read: {e}")))?;
    let have: Value = serde_json::from_str(&text).map_err(|e| AerError::file(&path, format!("corrupt ({e}); delete the directory {} to start the run over", dir.display())))?;
    match first_changed_stage(&have, &want) {
        Ok(None) => Ok((want, Claim::Same)),
        Ok(Some(from)) => Ok((want, Claim::Changed { have, from })),
        Err(()) => {
            let diff = first_difference(&have, &want, String::new()).unwrap_or_default();
            Err(AerError::file(
                &path,
                format!("holds the results of another configuration ({diff}); they are never mixed with new ones: use another --out, or delete {} to start over", dir.display()),
            ))
        }
    }
}

/// Claim `dir` for `run`: write its `run.json`, or check that the one there is the same run.
/// A run whose stages' settings changed (and nothing else) keeps the stages before the first
/// changed one; that one and every later one run again (`rerun`), and its old summary is set
/// aside with them. Returns lines worth saying.
pub(crate) fn lock(dir: &Path, run: &Run) -> Result<Vec<String>> {
    let (want, claim) = examine(dir, run)?;
    match claim {
        Claim::Same => Ok(Vec::new()),
        Claim::New => {
            write_json(&dir.join("run.json"), &want)?;
            Ok(Vec::new())
        }
        Claim::Changed { have, from } => {
            // The old stages' directories first, then the new run.json: killed in between,
            // the next invocation finds the same change and finishes moving them.
            let diff = first_difference(&have, &want, String::new()).unwrap_or_default();
            let mut notes = vec![format!("changed since the last invocation: {diff}; stages {} on run again", from + 1)];
            notes.extend(set_aside_from(dir, &have, from)?);
            notes.extend(set_aside(dir, &dir.join("summary.json"))?);
            write_json(&dir.join("run.json"), &want)?;
            Ok(notes)
        }
    }
}

/// The first place where two JSON values differ, as `path: old -> new`.
pub fn first_difference(a: &Value, b: &Value, path: String) -> Option<String> {
    let join = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| first_difference(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), join(k)))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(p, q, join(&i.to_string()))),
        _ if a == b => None,
        _ => Some(format!("{}: {a} before, {b} now", if path.is_empty() { "the file" } else { &path })),
    }
}

/// Point `r`'s first `n` stages: each finished earlier is reused; each that another point
/// owns (see `SweepGraph`) points at that point's result, which must have finished; the
/// others run.
#[allow(clippy::too_many_arguments)]
async fn run_stages(gpu: &Gpu, runs: &[Run], graph: &SweepGraph, r: usize, n: usize, splits: &Splits, out: &Path, opts: &RunOptions, on: &mut dyn FnMut(Event)) -> Result<Vec<StageRecord>> {
    let run = &runs[r];
    let p = &run.pipeline;
    let dir = out.join(&run.dir);
    let mut records: Vec<StageRecord> = Vec::new();
    let mut model: Option<PathBuf> = None;
    // Once a stage runs, every later one runs again: the model it starts from was remade.
    let mut ran = false;
    for (i, stage) in p.stages.iter().enumerate().take(n) {
        let kind = stage.kind();
        let sdir = stage_dir(&dir, i, kind);
        let record_path = sdir.join("stage.json");
        let owner = graph.owner[r][i];
        if owner != r {
            // The same stage of another point of this sweep: point at its result, which
            // must have finished (an owner comes first). The owner's own rules decide
            // whether it ran again; when its result is not the one this point recorded,
            // this point's later stages, made from the old one, run again.
            let other = &runs[owner];
            let odir = out.join(&other.dir);
            let opath = stage_dir(&odir, i, kind).join("stage.json");
            let Some(orec) = finished(&opath, &odir)? else {
                return Err(AerError::Invalid(format!(
                    "stage {} ({kind}) of point {r} is shared with point {owner} ({}), which has not finished it ({} is missing); run point {owner} first: aer run FILE --point {owner}",
                    i + 1,
                    other.label,
                    opath.display()
                )));
            };
            let rec = StageRecord { checkpoint: orec.checkpoint.as_ref().map(|c| format!("../{}/{c}", other.dir)), seconds: 0.0, shared_from: Some(other.dir.clone()), ..orec };
            let had = std::fs::read_to_string(&record_path).ok().and_then(|t| serde_json::from_str::<StageRecord>(&t).ok());
            if had.as_ref() != Some(&rec) {
                // Later stages (and an own result of this stage, from before it was
                // shared) aside first, then the record: killed in between, the next
                // invocation finds the same difference.
                if had.as_ref().is_some_and(|h| h.shared_from.is_none()) {
                    notes_of(set_aside(&dir, &sdir)?, on);
                }
                for (j, later) in p.stages.iter().enumerate().skip(i + 1) {
                    notes_of(set_aside(&dir, &stage_dir(&dir, j, later.kind()))?, on);
                }
                write_json(&record_path, &rec)?;
                ran = true;
            }
            on(Event::Reused { index: i, kind, summary: format!("{} (shared with {})", one_line(kind, &rec.result), other.dir) });
            if let Some(ck) = &rec.checkpoint {
                model = Some(dir.join(ck));
            }
            records.push(rec);
            continue;
        }
        let done = if ran { None } else { finished(&record_path, &dir)? };
        // A stage that runs with a finished (or, after an earlier stage ran, any) old
        // directory starts fresh: its old results are moved aside, never resumed from.
        if done.is_none() && (ran || record_path.exists()) {
            notes_of(set_aside(&dir, &sdir)?, on);
        }
        let rec = match done {
            Some(rec) => {
                on(Event::Reused { index: i, kind, summary: one_line(kind, &rec.result) });
                rec
            }
            None => {
                on(Event::Stage { index: i, stages: p.stages.len(), kind });
                let t = Instant::now();
                ran = true;
                let (checkpoint, result) = run_stage(gpu, p, i, stage, splits, &sdir, model.as_deref(), opts, on).await?;
                let rel = |path: PathBuf| path.strip_prefix(&dir).unwrap_or(&path).to_string_lossy().into_owned();
                let rec = StageRecord { index: i + 1, kind: kind.into(), checkpoint: checkpoint.map(rel), result, seconds: t.elapsed().as_secs_f64(), adapter: gpu.adapter_label(), shared_from: None };
                write_json(&record_path, &rec)?;
                on(Event::Done { index: i, kind, summary: one_line(kind, &rec.result), seconds: rec.seconds });
                rec
            }
        };
        if let Some(ck) = &rec.checkpoint {
            model = Some(dir.join(ck));
        }
        records.push(rec);
    }
    Ok(records)
}

fn notes_of(note: Option<String>, on: &mut dyn FnMut(Event)) {
    if let Some(note) = note {
        on(Event::Fit(FitEvent::Note(note)));
    }
}

/// The record of a stage finished earlier, with its checkpoint checked; None when the stage
/// has not finished (or its checkpoint was deleted, so it runs again).
fn finished(record_path: &Path, dir: &Path) -> Result<Option<StageRecord>> {
    if !record_path.exists() {
        return Ok(None);
    }
    let sdir = record_path.parent().unwrap_or(dir);
    // Deleting the stage's directory, its stage.json or its checkpoint makes it run again.
    let advice = format!("delete {} (or its stage.json) to run this stage again; the stages after it then run again too", sdir.display());
    let text = std::fs::read_to_string(record_path).map_err(|e| AerError::file(record_path, format!("cannot read: {e}")))?;
    let rec: StageRecord = serde_json::from_str(&text).map_err(|e| AerError::file(record_path, format!("corrupt ({e}); {advice}")))?;
    if let Some(ck) = &rec.checkpoint {
        let path = dir.join(ck);
        if !path.exists() {
            return Ok(None);
        }
        // Corrupt or truncated: an error that names the file, never a silent reuse.
        Checkpoint::load(&path).map_err(|e| AerError::Invalid(format!("{e}\n  to recompute it: {advice}")))?;
    }
    Ok(Some(rec))
}

/// The settings of stage `i`'s training: its own, with the pipeline's seed.
fn stage_train(p: &Pipeline, i: usize, t: &TrainConfig) -> TrainConfig {
    TrainConfig { seed: p.seed + i as u64, ..t.clone() }
}

#[allow(clippy::too_many_arguments)]
async fn run_stage(gpu: &Gpu, p: &Pipeline, i: usize, stage: &Stage, splits: &Splits, sdir: &Path, prev: Option<&Path>, opts: &RunOptions, on: &mut dyn FnMut(Event)) -> Result<(Option<PathBuf>, Value)> {
    let prev_ck = prev.map(Checkpoint::load).transpose()?;
    let spec = match &prev_ck {
        Some(ck) => ck.spec.clone(),
        None => ModelSpec::load(&p.model)?,
    };
    let fit_opts = |init: Option<PathBuf>| FitOptions { resume: true, init, dense_kernels: opts.dense_kernels };
    let mut fit_on = |ev: FitEvent| on(Event::Fit(ev));
    match stage {
        Stage::Train { train } => {
            refuse_packed(prev_ck.as_ref(), "train")?;
            let cfg = stage_train(p, i, train);
            let r = fit(gpu, &REGISTRY, splits, &spec, &cfg, sdir, &fit_opts(prev.map(Path::to_path_buf)), &mut fit_on).await?;
            Ok((Some(r.best_path), json!({ "test_accuracy": r.test_accuracy, "best_epoch": r.best_epoch, "val_score": r.best_score, "seconds_per_epoch": r.seconds_per_epoch })))
        }
        Stage::Prune { sparsity, ramp_epochs, scope, train } => {
            refuse_packed(prev_ck.as_ref(), "prune")?;
            let mut cfg = stage_train(p, i, train);
            cfg.set(&GradualPrune { sparsity: *sparsity, ramp_epochs: *ramp_epochs, scope: *scope });
            let r = fit(gpu, &REGISTRY, splits, &spec, &cfg, sdir, &fit_opts(prev.map(Path::to_path_buf)), &mut fit_on).await?;
            Ok((Some(r.best_path), json!({ "test_accuracy": r.test_accuracy, "best_epoch": r.best_epoch, "val_score": r.best_score, "sparsity": sparsity, "seconds_per_epoch": r.seconds_per_epoch })))
        }
        Stage::Lottery { rounds, rate, scope, train } => {
            refuse_packed(prev_ck.as_ref(), "lottery")?;
            let cfg = stage_train(p, i, train);
            // The weights every round rewinds to.
            let rewind: std::collections::HashMap<String, Vec<f32>> = match &prev_ck {
                Some(ck) => ck.param_values(),
                None => crate::nn::Model::new(gpu, &spec, splits.train.shape, splits.classes, cfg.seed)?.download(gpu).await?.into_iter().map(|(n, _, v)| (n, v)).collect(),
            };
            let mut out = Vec::new();
            let mut best: Option<PathBuf> = None;
            for round in 0..=*rounds {
                let rdir = sdir.join(format!("round-{round:02}"));
                let init = match &best {
                    None => prev.map(Path::to_path_buf),
                    Some(prev_best) => {
                        let path = rdir.join("init.safetensors");
                        let remaining = (1.0 - rate).powi(round as i32);
                        let ck = Checkpoint::load(prev_best)?;
                        let (mut m, _) = ck.restore(gpu)?;
                        crate::sparse::magnitude_prune(gpu, &mut m, None, 1.0 - remaining, *scope);
                        m.set_values(gpu, &rewind)?;
                        let fresh = crate::train::Optimizer::new(gpu, &cfg.optimizer, &m.params);
                        Checkpoint::capture(gpu, &m, &fresh, &cfg, 0, &[]).await?.save(&path)?;
                        Some(path)
                    }
                };
                let r = fit(gpu, &REGISTRY, splits, &spec, &cfg, &rdir, &fit_opts(init), &mut fit_on).await?;
                out.push(json!({ "round": round, "remaining": (1.0 - rate).powi(round as i32), "test_accuracy": r.test_accuracy, "best_epoch": r.best_epoch, "val_score": r.best_score }));
                best = Some(r.best_path);
            }
            let last = out.last().cloned().unwrap_or_default();
            Ok((best, json!({ "rounds": out, "sparsity": 1.0 - last["remaining"].as_f64().unwrap_or(1.0), "test_accuracy": last["test_accuracy"] })))
        }
        Stage::Quantize { method, layers, scales, train } => {
            let ck = prev_ck.expect("checked: a quantize stage follows a model");
            refuse_packed(Some(&ck), "quantize")?;
            let mut latent = ck;
            latent.spec.quant = Some(QuantSpec { method: *method, layers: *layers, scales: *scales, threshold: None });
            let init = sdir.join("latent-init.safetensors");
            latent.save(&init)?;
            let cfg = stage_train(p, i, train);
            let r = fit(gpu, &REGISTRY, splits, &latent.spec, &cfg, sdir, &fit_opts(Some(init)), &mut fit_on).await?;
            let best = Checkpoint::load(&r.best_path)?;
            let (m, _) = best.restore(gpu)?;
            let packed = Checkpoint::capture_packed(gpu, &m, &best.config, best.epoch, &best.history).await?;
            let path = sdir.join("packed.safetensors");
            packed.save(&path)?;
            // The packed file, read back, is what later stages use: test that.
            let (pm, _) = Checkpoint::load(&path)?.restore(gpu)?;
            let test = evaluate(gpu, &pm, &splits.test, 256).await?;
            let (f32_bytes, packed_bytes, other) = packed.weight_bytes();
            Ok((Some(path), json!({ "test_accuracy": test.accuracy, "latent_test_accuracy": r.test_accuracy, "best_epoch": r.best_epoch, "bytes": packed_bytes + other, "f32_bytes": f32_bytes + other })))
        }
        Stage::Attack { attack, n } => {
            let ck = prev_ck.expect("checked: an attack stage follows a model");
            let (mut m, _) = ck.restore(gpu)?;
            block_sparse(gpu, &mut m, opts.dense_kernels, &mut fit_on).await?;
            let suite = SuiteConfig::resolve(attack, splits.test.shape, splits.classes)?;
            let data = splits.test.spread(*n);
            let r = evaluate_robustness_logged(gpu, &m, &data, &suite.attacks, suite.cascade, 256, &mut |_, _| {}, &mut NoLog).await?;
            let curve_attack = suite.curve_attack(attack, splits.test.shape, splits.classes)?;
            let curve_data = data.spread(suite.curve_n);
            let curve = robustness_curve(gpu, &m, &curve_data, &curve_attack, &suite.curve, 256, &mut |_, _| {}).await?;
            let checks = sanity_checks(&r, &curve);
            let attacks: Vec<Value> = r
                .attacks
                .iter()
                .map(|a| {
                    let mut e = json!({ "attack": a.config.label(), "config": a.config, "robust_accuracy": a.accuracy(), "seconds": a.seconds });
                    if let Some(q) = a.queries_json() {
                        e["queries"] = q;
                    }
                    e
                })
                .collect();
            Ok((None, json!({
                "n": data.len(), "clean_accuracy": r.clean_accuracy(), "attacks": attacks, "cascade": suite.cascade, "worst_robust_accuracy": r.worst_accuracy(),
                "curve": { "attack": curve_attack.label(), "norm": curve_attack.norm, "examples": curve_data.len(), "points": curve.iter().map(|(e, a)| json!({ "eps": e, "robust_accuracy": a })).collect::<Vec<_>>() },
                "checks": checks.iter().map(|c| json!({ "name": c.name, "passed": c.passed, "detail": c.detail })).collect::<Vec<_>>(),
            })))
        }
        Stage::Watermark { key, triggers, alpha } => {
            let ck = prev_ck.expect("checked: a watermark stage follows a model");
            let (mut m, _) = ck.restore(gpu)?;
            block_sparse(gpu, &mut m, opts.dense_kernels, &mut fit_on).await?;
            let v = crate::watermark::verify(gpu, &m, &crate::watermark::WatermarkKey::load(key)?, *triggers, *alpha).await?;
            Ok((None, crate::files::to_json_value(&v)))
        }
        Stage::Bench { batch, runs } => {
            let ck = prev_ck.expect("checked: a bench stage follows a model");
            let (mut m, _) = ck.restore(gpu)?;
            block_sparse(gpu, &mut m, opts.dense_kernels, &mut fit_on).await?;
            let data = splits.test.head(*batch);
            let (x, _, _) = crate::attack::upload_range(gpu, &data, 0..data.len());
            let t = time_async(gpu, 3, *runs, || {
                m.forward(gpu, x.clone(), None);
            })
            .await?;
            Ok((None, json!({ "batch": data.len(), "median_ms": t.median_ms, "min_ms": t.min_ms, "max_ms": t.max_ms, "runs": t.runs, "timing": t.method, "us_per_example": 1e3 * t.median_ms / data.len() as f64 })))
        }
    }
}

fn refuse_packed(ck: Option<&Checkpoint>, what: &str) -> Result<()> {
    match ck {
        Some(c) if !c.packed.is_empty() => Err(AerError::Invalid(format!("a {what} stage cannot follow a quantize stage: packed ternary weights have no gradients; move the quantize stage after it"))),
        _ => Ok(()),
    }
}

/// A finished stage in one line.
pub fn one_line(kind: &str, r: &Value) -> String {
    let pct = |k: &str| r.get(k).and_then(Value::as_f64).map(|v| format!("{:.2}%", 100.0 * v)).unwrap_or_else(|| "-".into());
    match kind {
        "train" => format!("test {}  best epoch {}", pct("test_accuracy"), r["best_epoch"]),
        "prune" => format!("sparsity {}  test {}  best epoch {}", pct("sparsity"), pct("test_accuracy"), r["best_epoch"]),
        "lottery" => {
            let rounds: Vec<String> = r["rounds"].as_array().into_iter().flatten().map(|x| format!("{:.1}%: {:.2}%", 100.0 * x["remaining"].as_f64().unwrap_or(0.0), 100.0 * x["test_accuracy"].as_f64().unwrap_or(0.0))).collect();
            format!("weights kept: test accuracy  {}", rounds.join("  "))
        }
        "quantize" => format!("packed test {}  (latent {})  {} B", pct("test_accuracy"), pct("latent_test_accuracy"), r["bytes"]),
        "attack" => {
            let attacks: Vec<String> = r["attacks"].as_array().into_iter().flatten().map(|a| format!("{} {:.2}%", a["attack"].as_str().unwrap_or("?"), 100.0 * a["robust_accuracy"].as_f64().unwrap_or(0.0))).collect();
            format!("clean {}  {}  worst {}", pct("clean_accuracy"), attacks.join("  "), pct("worst_robust_accuracy"))
        }
        "watermark" => format!(
            "{}/{} triggers match the key  log10 p {:.1}  {}",
            r["matches"],
            r["triggers"],
            r["log10_p_value"].as_f64().unwrap_or(0.0),
            if r["watermarked"].as_bool() == Some(true) { "watermarked" } else { "not shown" }
        ),
        "bench" => format!("{:.3} ms per batch of {} ({:.1} us per example)", r["median_ms"].as_f64().unwrap_or(0.0), r["batch"], r["us_per_example"].as_f64().unwrap_or(0.0)),
        _ => r.to_string(),
    }
}
