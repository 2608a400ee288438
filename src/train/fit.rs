//! A whole training run into a directory: epochs with a checkpoint after each
//! (`last.safetensors`), the best epoch by validation score kept as `best.safetensors`,
//! resumption from the last finished epoch, `progress.json` (the history so far) after each
//! epoch and `metrics.json` at the end. The command line
//! and the pipeline runner both train through here.

use crate::files::{write_json, DirLock};
use super::checkpoint::{Checkpoint, EpochRecord};
use super::config::TrainConfig;
use super::method::{Methods, Registry, RunCtx};
use super::{evaluate, train_epoch, Optimizer};
use crate::data::Splits;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::{Model, ModelSpec};
use std::path::{Path, PathBuf};
use web_time::Instant;

/// How `fit` starts.
#[derive(Clone, Debug, Default)]
pub struct FitOptions {
    /// Continue from <out>/last.safetensors when it exists.
    pub resume: bool,
    /// Start from this checkpoint's weights (and masks) instead of a fresh initialisation.
    pub init: Option<PathBuf>,
    /// Never use the block-sparse kernels.
    pub dense_kernels: bool,
}

/// What a run reports while it goes.
pub enum FitEvent<'a> {
    /// Something worth a line (what was pruned, where it resumed).
    Note(String),
    EpochStart { epoch: usize, epochs: usize, batches: usize },
    Batch { done: usize },
    EpochDone(&'a EpochRecord),
}

pub struct FitResult {
    pub test_accuracy: f64,
    pub seconds_per_epoch: f64,
    pub best_epoch: usize,
    /// The best epoch's validation score (robust or verified accuracy when training for it).
    pub best_score: f64,
    pub best_path: PathBuf,
}

/// Train `spec` on `splits` with `cfg` into `out`; `registry` (`crate::methods::REGISTRY`)
/// turns the config's training methods into their hooks.
#[allow(clippy::too_many_arguments)]
pub async fn fit(gpu: &Gpu, registry: &Registry, splits: &Splits, spec: &ModelSpec, cfg: &TrainConfig, out: &Path, opts: &FitOptions, on: &mut dyn FnMut(FitEvent)) -> Result<FitResult> {
    // Every method's settings read and checked (defaults filled in) before anything trains.
    // Adversarial training's radius and steps, where left out, follow the data.
    let cfg = &registry.check(&registry.data_defaults(cfg, splits.train.shape))?;
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(AerError::Invalid(format!("epochs {} and batch_size {}: both must be at least 1 (--epochs, --batch-size, or epochs and batch_size under [train])", cfg.epochs, cfg.batch_size)));
    }
    if splits.val.is_empty() {
        return Err(AerError::Invalid(format!("{}: no validation images, and the best epoch is chosen on them; give --val-size 1 or more (val_size in a pipeline)", splits.source)));
    }
    let lr = cfg.optimizer.lr;
    if !(lr.is_finite() && lr > 0.0) {
        return Err(AerError::Invalid(format!("learning rate {lr}: it must be a positive number (--lr, or lr in [train.optimizer])")));
    }
    let mut methods = registry.build(cfg)?;
    let mut run = RunCtx { gpu, splits, cfg, registry, on };
    // The directory is this run's until it returns: a second run into it is refused.
    let lock = DirLock::acquire(out, 0)?;
    lock.notes.iter().for_each(|n| run.note(n.clone()));
    let input = splits.train.shape;
    let last_path = out.join("last.safetensors");
    let best_path = out.join("best.safetensors");
    let (mut model, mut opt, mut history) = if opts.resume && last_path.exists() {
        let ck = Checkpoint::load(&last_path)?;
        if &ck.spec != spec {
            return Err(AerError::checkpoint(&last_path, format!("holds model '{}', not the requested '{}'; use another --out", ck.spec.name, spec.name)));
        }
        if &ck.config != cfg {
            return Err(AerError::checkpoint(&last_path, "was trained with other settings; rerun with the same settings or use another --out"));
        }
        ck.check_data(input, splits.classes, &last_path)?;
        let (m, o) = ck.restore(gpu)?;
        run.note(format!("resuming after epoch {}", ck.epoch));
        (m, o, ck.history)
    } else {
        let (m, o) = start(&mut run, &mut methods, spec, opts).await?;
        (m, o, Vec::new())
    };
    // Masks that change during training keep the dense kernels until it ends.
    block_sparse(gpu, &mut model, opts.dense_kernels || methods.iter().any(|m| m.changes_masks()), &mut *run.on).await?;
    run.note(format!("model: {} ({} parameters), {:?}", spec.name, model.num_parameters(), cfg.optimizer.kind));
    if lr > 10.0 {
        run.note(format!("warning: learning rate {} is far above the usual 1e-4 to 1 (--lr); training is likely to diverge or stall at a huge loss", show_lr(lr)));
    }
    for m in methods.iter_mut() {
        m.ready(&model)?;
    }
    let mut best = resumed_best(&best_path, &history)?;
    for epoch in history.len()..cfg.epochs {
        let t = Instant::now();
        let batches = splits.train.len().div_ceil(cfg.batch_size);
        for m in methods.iter_mut() {
            m.before_epoch(&mut run, &mut model, &opt, epoch);
        }
        (run.on)(FitEvent::EpochStart { epoch, epochs: cfg.epochs, batches });
        let stats = train_epoch(gpu, &model, &mut opt, &splits.train, cfg, epoch, &mut methods, &history, &mut |done, _| (run.on)(FitEvent::Batch { done })).await?;
        // Diverged: stop here, before anything of this epoch is written; the last
        // checkpoint stays the last finite one.
        if !stats.loss.is_finite() {
            return Err(diverged(epoch + 1, "training loss", stats.loss, lr));
        }
        let val = evaluate(gpu, &model, &splits.val, 256).await?;
        let mut rec = EpochRecord {
            epoch: epoch + 1,
            train_loss: stats.loss,
            train_accuracy: stats.accuracy,
            val_accuracy: val.accuracy,
            seconds: 0.0,
            robust: None,
            certified: None,
        };
        for m in methods.iter_mut() {
            m.record(&run, &model, &stats, &mut rec).await?;
        }
        rec.seconds = t.elapsed().as_secs_f64();
        if let Some((field, v)) = rec.non_finite() {
            return Err(diverged(epoch + 1, field, v, lr));
        }
        (run.on)(FitEvent::EpochDone(&rec));
        // Methods may keep an epoch from competing for best (a pruning schedule's ramp).
        let eligible = methods.iter().all(|m| m.eligible(epoch, cfg.epochs));
        for m in methods.iter_mut() {
            m.after_epoch(&mut run, &mut model, &opt, epoch).await?;
        }
        let this = score(&rec);
        history.push(rec);
        let ck = Checkpoint::capture(gpu, &model, &opt, cfg, epoch + 1, &history).await?;
        if eligible && this > best {
            best = this;
            ck.save(&best_path)?;
        }
        ck.save(&last_path)?;
        // The curve so far, readable while the run goes on or after it stopped.
        write_json(&out.join("progress.json"), &serde_json::json!({
            "model": spec.name, "adapter": gpu.adapter_label(), "data": splits.source, "config": cfg, "epochs_done": history.len(), "history": history,
        }))?;
    }
    let best_ck = Checkpoint::load(&best_path)?;
    let (mut best_model, _) = best_ck.restore(gpu)?;
    block_sparse(gpu, &mut best_model, opts.dense_kernels, &mut |_| {}).await?;
    let test = evaluate(gpu, &best_model, &splits.test, 256).await?;
    let seconds_per_epoch = history.iter().map(|r| r.seconds).sum::<f64>() / history.len().max(1) as f64;
    let metrics = serde_json::json!({
        "model": spec.name,
        "adapter": gpu.adapter_label(),
        "data": splits.source,
        "config": cfg,
        "best_epoch": best_ck.epoch,
        "best_val_accuracy": best,
        "test_accuracy": test.accuracy,
        "seconds_per_epoch": seconds_per_epoch,
        "history": history,
    });
    write_json(&out.join("metrics.json"), &metrics)?;
    Ok(FitResult { test_accuracy: test.accuracy, seconds_per_epoch, best_epoch: best_ck.epoch, best_score: best, best_path })
}

/// The score a resumed run's later epochs must beat: that of the epoch it kept as best, as in
/// the uninterrupted run (not the best of every finished epoch: a method may have ruled some
/// out, e.g. a pruning ramp's); -1 when none was kept yet, or when the kept one is the epoch
/// about to be trained again (the run stopped between its two checkpoint writes).
fn resumed_best(best_path: &Path, history: &[EpochRecord]) -> Result<f64> {
    if history.is_empty() || !best_path.exists() {
        return Ok(-1.0);
    }
    let kept = Checkpoint::load(best_path)?.epoch;
    Ok(if (1..=history.len()).contains(&kept) { score(&history[kept - 1]) } else { -1.0 })
}

/// The error of a run whose epoch `epoch` (1-based) measured a non-finite `what`.
fn diverged(epoch: usize, what: &str, value: f64, lr: f32) -> AerError {
    AerError::Invalid(format!(
        "epoch {epoch}: the {what} is {value} (diverged); lower the learning rate (--lr, now {}); the checkpoints of the epochs before it are kept",
        show_lr(lr)
    ))
}

/// A learning rate as people write it: 1e9 and 1e-5, but 0.05.
fn show_lr(lr: f32) -> String {
    if lr != 0.0 && !(1e-3..1e4).contains(&lr.abs()) { format!("{lr:e}") } else { lr.to_string() }
}

/// With adversarial (certified) training the model is selected by robust (verified)
/// validation accuracy.
fn score(r: &EpochRecord) -> f64 {
    match (&r.robust, &r.certified) {
        (Some(x), _) => x.val_robust_accuracy,
        (None, Some(x)) => x.val_verified_accuracy,
        (None, None) => r.val_accuracy,
    }
}

/// The model and optimizer of a run's first epoch: fresh or from `opts.init`, then what the
/// methods do before training (one-shot pruning, first masks).
async fn start(run: &mut RunCtx<'_>, methods: &mut Methods, spec: &ModelSpec, opts: &FitOptions) -> Result<(Model, Optimizer)> {
    let (gpu, splits, cfg) = (run.gpu, run.splits, run.cfg);
    let input = splits.train.shape;
    let mut m = match &opts.init {
        None => Model::new(gpu, spec, input, splits.classes, cfg.seed)?,
        Some(path) => {
            let mut ck = Checkpoint::load(path)?;
            if &ck.spec != spec {
                // Full-precision weights may start quantization-aware training (and latent
                // weights a run in full precision): same weight layers, another [quant].
                // Winners-take-all layers have no parameters, and activation thresholds start
                // at 0: a dense model may start either.
                let weight_layers = |s: &ModelSpec| s.layers.iter().filter(|l| !matches!(l, crate::nn::LayerSpec::Wta { .. } | crate::nn::LayerSpec::Threshold { .. })).cloned().collect::<Vec<_>>();
                let same = weight_layers(&ck.spec) == weight_layers(spec);
                if !same || !ck.packed.is_empty() {
                    let why = if same { "holds packed ternary weights; start from the latent checkpoint it was packed from".to_string() } else { format!("holds model '{}' with other layers than the requested '{}'", ck.spec.name, spec.name) };
                    return Err(AerError::checkpoint(path, why));
                }
                ck.spec = spec.clone();
            }
            ck.check_data(input, splits.classes, path)?;
            run.note(format!("starting from {} (epoch {})", path.display(), ck.epoch));
            ck.restore(gpu)?.0
        }
    };
    let o = Optimizer::new(gpu, &cfg.optimizer, &m.params);
    for method in methods.iter_mut() {
        method.start(run, &mut m, &o).await?;
    }
    Ok((m, o))
}

/// Move pruned layers to the block-sparse kernels where this adapter's crossover says they
/// are faster (unless `dense_kernels`), and say which.
pub async fn block_sparse(gpu: &Gpu, model: &mut Model, dense_kernels: bool, on: &mut dyn FnMut(FitEvent)) -> Result<()> {
    if dense_kernels || model.params.iter().all(|p| p.mask.is_none()) {
        return Ok(());
    }
    let crossover = crate::kernels::tune::Crossover::for_gpu(gpu);
    for l in model.use_block_sparse(gpu, &crossover).await? {
        on(FitEvent::Note(format!("block-sparse kernels: {} (blocks of {}, {:.1}% kept; crossover: {})", l.weight, l.block, 100.0 * l.density, crossover.source)));
    }
    Ok(())
}
