//! Running a pipeline: each run in its own directory, each stage in its own subdirectory,
//! finished when its `stage.json` is written (atomically, last). A run that is stopped
//! resumes from its last finished stage, and a training stage from its last finished epoch;
//! with the same seed it ends with the same numbers. A run directory whose `run.json` holds
//! another configuration is refused, never mixed with new results, and a finished stage's
//! checkpoint is checked (CRC) before it is used again.

use crate::files::{write_json, DirLock};
use super::spec::{Pipeline, Run, Stage};
use super::summary::{summarise, RunSummary};
use super::validate::check_with_data;
use super::rerun::{first_changed_stage, set_aside, set_aside_from, stage_dir};
use crate::attack::{evaluate_robustness, robustness_curve, sanity_checks, SuiteConfig};
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

/// Finished stages by what determines them (the run's data and seed, the stage and every
/// stage before it): runs of a sweep share the stages their values do not change.
type SharedStages = std::collections::HashMap<String, (String, StageRecord)>;

fn prefix_key(p: &Pipeline, i: usize) -> String {
    json!([p.model, p.data, p.val_size, p.train_examples, p.seed, p.stages[..=i]]).to_string()
}

/// Run every run of a pipeline file into `out`, one directory each.
pub async fn run_pipeline(gpu: &Gpu, runs: &[Run], out: &Path, opts: &RunOptions, on: &mut dyn FnMut(Event)) -> Result<Vec<RunSummary>> {
    // The whole run directory is this pipeline's until it returns (each training stage's
    // subdirectory is locked again by `fit`); temp files of interrupted runs are removed.
    let claim = DirLock::acquire(out, 3)?;
    claim.notes.iter().for_each(|n| on(Event::Fit(FitEvent::Note(n.clone()))));
    let mut summaries = Vec::new();
    let mut data: Option<(Value, Splits)> = None;
    // Runs of a sweep share their data unless they change it.
    let data_key = |run: &Run| json!([run.pipeline.data, run.pipeline.val_size, run.pipeline.train_examples]);
    let load = |data: &mut Option<(Value, Splits)>, run: &Run| -> Result<()> {
        let key = data_key(run);
        if data.as_ref().is_none_or(|(k, _)| k != &key) {
            *data = Some((key, load_splits(&run.pipeline)?));
        }
        Ok(())
    };
    // Every run's settings against its data before the first stage of the first run.
    let origin = runs.first().map(|r| format!("pipeline '{}'", r.pipeline.name)).unwrap_or_default();
    check_with_data(&origin, runs, &mut |run| {
        load(&mut data, run)?;
        let splits = &data.as_ref().expect("just loaded").1;
        Ok((splits.train.shape, splits.classes))
    })?;
    let mut shared = SharedStages::new();
    for (i, run) in runs.iter().enumerate() {
        let dir = out.join(&run.dir);
        on(Event::Run { index: i, runs: runs.len(), label: &run.label, dir: &dir });
        for note in lock(&dir, run)? {
            on(Event::Fit(FitEvent::Note(note)));
        }
        load(&mut data, run)?;
        let splits = &data.as_ref().expect("just loaded").1;
        let records = run_stages(gpu, run, splits, &dir, opts, &mut shared, on).await?;
        let summary = summarise(gpu, run, splits, &dir, records, opts.dense_kernels).await?;
        write_json(&dir.join("summary.json"), &summary)?;
        summaries.push(summary);
    }
    Ok(summaries)
}

fn load_splits(p: &Pipeline) -> Result<Splits> {
    let data = p.data.clone().unwrap_or_else(|| PathBuf::from(crate::data::BUNDLED));
    let mut splits = crate::data::open(&data, p.val_size)?;
    if p.train_examples > 0 {
        splits.train = splits.train.head(p.train_examples);
    }
    Ok(splits)
}

/// Claim `dir` for `run`: write its `run.json`, or check that the one there is the same run.
/// A run whose stages' settings changed (and nothing else) keeps the stages before the first
/// changed one; that one and every later one run again (`rerun`). Returns lines worth saying.
fn lock(dir: &Path, run: &Run) -> Result<Vec<String>> {
    let path = dir.join("run.json");
    // As written and read back (numbers as they print), so that the same run compares equal.
    let want = crate::files::to_json_value(&json!({ "format": RUN_FORMAT, "label": run.label, "pipeline": run.pipeline }));
    if !path.exists() {
        write_json(&path, &want)?;
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).map_err(|e| AerError::file(&path, format!("cannot read: {e}")))?;
    let have: Value = serde_json::from_str(&text).map_err(|e| AerError::file(&path, format!("corrupt ({e}); delete the directory {} to start the run over", dir.display())))?;
    match first_changed_stage(&have, &want) {
        Ok(None) => Ok(Vec::new()),
        Ok(Some(from)) => {
            // The old stages' directories first, then the new run.json: killed in between,
            // the next invocation finds the same change and finishes moving them.
            let diff = first_difference(&have, &want, String::new()).unwrap_or_default();
            let mut notes = vec![format!("changed since the last invocation: {diff}; stages {} on run again", from + 1)];
            notes.extend(set_aside_from(dir, &have, from)?);
            write_json(&path, &want)?;
            Ok(notes)
        }
        Err(()) => {
            let diff = first_difference(&have, &want, String::new()).unwrap_or_default();
            Err(AerError::file(
                &path,
                format!("holds the results of another configuration ({diff}); they are never mixed with new ones: use another --out, or delete {} to start over", dir.display()),
            ))
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

async fn run_stages(gpu: &Gpu, run: &Run, splits: &Splits, dir: &Path, opts: &RunOptions, shared: &mut SharedStages, on: &mut dyn FnMut(Event)) -> Result<Vec<StageRecord>> {
    let p = &run.pipeline;
    let mut records: Vec<StageRecord> = Vec::new();
    let mut model: Option<PathBuf> = None;
    // Once a stage runs, every later one runs again: the model it starts from was remade.
    let mut ran = false;
    for (i, stage) in p.stages.iter().enumerate() {
        let kind = stage.kind();
        let sdir = stage_dir(dir, i, kind);
        let record_path = sdir.join("stage.json");
        let key = prefix_key(p, i);
        let done = if ran { None } else { finished(&record_path, dir)? };
        // A stage that runs with a finished (or, after an earlier stage ran, any) old
        // directory starts fresh: its old results are moved aside, never resumed from.
        if done.is_none() && (ran || record_path.exists()) {
            if let Some(note) = set_aside(dir, &sdir)? {
                on(Event::Fit(FitEvent::Note(note)));
            }
        }
        let rec = match done {
            Some(rec) => {
                on(Event::Reused { index: i, kind, summary: one_line(kind, &rec.result) });
                rec
            }
            None => match shared.get(&key) {
                // The same stage of an earlier run of this sweep: point at its checkpoint.
                Some((other, rec)) => {
                    let rec = StageRecord { checkpoint: rec.checkpoint.as_ref().map(|c| format!("../{other}/{c}")), seconds: 0.0, shared_from: Some(other.clone()), ..rec.clone() };
                    write_json(&record_path, &rec)?;
                    on(Event::Reused { index: i, kind, summary: format!("{} (shared with {other})", one_line(kind, &rec.result)) });
                    rec
                }
                None => {
                    on(Event::Stage { index: i, stages: p.stages.len(), kind });
                    let t = Instant::now();
                    ran = true;
                    let (checkpoint, result) = run_stage(gpu, p, i, stage, splits, &sdir, model.as_deref(), opts, on).await?;
                    let rel = |path: PathBuf| path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
                    let rec = StageRecord { index: i + 1, kind: kind.into(), checkpoint: checkpoint.map(rel), result, seconds: t.elapsed().as_secs_f64(), adapter: gpu.adapter_label(), shared_from: None };
                    write_json(&record_path, &rec)?;
                    on(Event::Done { index: i, kind, summary: one_line(kind, &rec.result), seconds: rec.seconds });
                    rec
                }
            },
        };
        if let Some(ck) = &rec.checkpoint {
            model = Some(dir.join(ck));
        }
        shared.entry(key).or_insert_with(|| (run.dir.clone(), rec.clone()));
        records.push(rec);
    }
    Ok(records)
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
            let r = evaluate_robustness(gpu, &m, &data, &suite.attacks, 256, &mut |_, _| {}).await?;
            let curve_attack = suite.curve_attack(attack, splits.test.shape, splits.classes)?;
            let curve_data = data.spread(suite.curve_n);
            let curve = robustness_curve(gpu, &m, &curve_data, &curve_attack, &suite.curve, 256, &mut |_, _| {}).await?;
            let checks = sanity_checks(&r, &curve);
            let attacks: Vec<Value> = r.attacks.iter().map(|a| json!({ "attack": a.config.label(), "config": a.config, "robust_accuracy": a.accuracy(), "seconds": a.seconds })).collect();
            Ok((None, json!({
                "n": data.len(), "clean_accuracy": r.clean_accuracy(), "attacks": attacks, "worst_robust_accuracy": r.worst_accuracy(),
                "curve": { "attack": curve_attack.label(), "norm": curve_attack.norm, "examples": curve_data.len(), "points": curve.iter().map(|(e, a)| json!({ "eps": e, "robust_accuracy": a })).collect::<Vec<_>>() },
                "checks": checks.iter().map(|c| json!({ "name": c.name, "passed": c.passed, "detail": c.detail })).collect::<Vec<_>>(),
            })))
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
        "bench" => format!("{:.3} ms per batch of {} ({:.1} us per example)", r["median_ms"].as_f64().unwrap_or(0.0), r["batch"], r["us_per_example"].as_f64().unwrap_or(0.0)),
        _ => r.to_string(),
    }
}
