//! What each subcommand does.

use super::args::{Cli, Command, DataArgs, EvalArgs, OptimizerArg, ScheduleArg, SplitArg, TrainArgs};
use super::progress::epoch_bar;
use crate::data::{load_dir, Splits};
use crate::gpu::{list_adapters, AdapterChoice, Gpu};
use crate::nn::{Model, ModelSpec};
use crate::train::{evaluate, train_epoch, write_atomic, Checkpoint, EpochRecord, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, TrainConfig};
use crate::{AerError, Result};
use pollster::block_on;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(cli: Cli) -> Result<()> {
    let choice = AdapterChoice { name: cli.gpu.adapter.clone(), backend: cli.gpu.backend.clone() };
    match cli.command {
        Command::Adapters { json } => adapters(&choice, json),
        Command::Train(args) => {
            let gpu = open(&choice)?;
            let splits = load_data(&args.data)?;
            let spec = ModelSpec::load(&args.model)?;
            let cfg = train_config(&args);
            let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{}-s{}", spec.name, cfg.seed)));
            fit(&gpu, &splits, &spec, &cfg, &out, args.resume).map(|_| ())
        }
        Command::Eval(args) => eval(&choice, &args),
        Command::Demo { epochs, out } => {
            let gpu = open(&choice)?;
            let splits = load_data(&DataArgs { data: PathBuf::from(crate::data::BUNDLED_MNIST), val_size: crate::data::VALIDATION_SIZE })?;
            let cfg = TrainConfig {
                epochs,
                batch_size: 128,
                seed: 0,
                // Chosen on the validation split among Adam and SGD settings (scripts/figures/demo-sweep.sh).
                optimizer: OptimizerConfig { kind: OptimizerKind::Sgd, lr: 0.1, momentum: 0.9, weight_decay: 5e-4, ..Default::default() },
                schedule: LrSchedule::Cosine,
            };
            let t = Instant::now();
            let r = fit(&gpu, &splits, &ModelSpec::load("mlp")?, &cfg, &out, false)?;
            println!("test accuracy: {:.1}%", 100.0 * r.test_accuracy);
            println!("time per epoch: {:.2} s (total {:.1} s)", r.seconds_per_epoch, t.elapsed().as_secs_f64());
            println!("adapter: {}", gpu.adapter_label());
            Ok(())
        }
    }
}

fn open(choice: &AdapterChoice) -> Result<Gpu> {
    let gpu = block_on(Gpu::new(choice))?;
    eprintln!("adapter: {}", gpu.adapter_label());
    Ok(gpu)
}

fn adapters(choice: &AdapterChoice, json: bool) -> Result<()> {
    let list = block_on(list_adapters(choice))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list).unwrap());
        return Ok(());
    }
    if list.is_empty() {
        return Err(AerError::NoAdapter { detail: String::new() });
    }
    for (i, a) in list.iter().enumerate() {
        println!("[{i}] {}", a.describe());
    }
    Ok(())
}

/// A relative data path that does not exist from here is tried against the crate root, so the
/// bundled data is found from any working directory of a source checkout.
fn load_data(args: &DataArgs) -> Result<Splits> {
    let mut dir = args.data.clone();
    if dir.is_relative() && !dir.exists() {
        let alt = Path::new(env!("CARGO_MANIFEST_DIR")).join(&dir);
        if alt.exists() {
            dir = alt;
        }
    }
    let s = load_dir(&dir, args.val_size)?;
    eprintln!(
        "data: {} ({} train, {} val, {} test, {:?}, {} classes)",
        s.source,
        s.train.len(),
        s.val.len(),
        s.test.len(),
        s.train.shape,
        s.classes
    );
    Ok(s)
}

fn train_config(a: &TrainArgs) -> TrainConfig {
    let kind = match a.optimizer {
        OptimizerArg::Sgd => OptimizerKind::Sgd,
        OptimizerArg::Adam => OptimizerKind::Adam,
    };
    let default_lr = if kind == OptimizerKind::Sgd { 0.05 } else { 1e-3 };
    TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        seed: a.seed,
        optimizer: OptimizerConfig {
            kind,
            lr: a.lr.unwrap_or(default_lr),
            momentum: a.momentum,
            nesterov: a.nesterov,
            weight_decay: a.weight_decay,
            decoupled: a.decoupled,
            ..Default::default()
        },
        schedule: match a.schedule {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Cosine => LrSchedule::Cosine,
        },
    }
}

pub struct FitResult {
    pub test_accuracy: f64,
    pub seconds_per_epoch: f64,
}

/// Train for cfg.epochs with a checkpoint after every epoch; the epoch with the best
/// validation accuracy is kept as best.safetensors and is the one tested.
fn fit(gpu: &Gpu, splits: &Splits, spec: &ModelSpec, cfg: &TrainConfig, out: &Path, resume: bool) -> Result<FitResult> {
    let input = splits.train.shape;
    let last_path = out.join("last.safetensors");
    let best_path = out.join("best.safetensors");
    let (model, mut opt, mut history) = if resume && last_path.exists() {
        let ck = Checkpoint::load(&last_path)?;
        if &ck.spec != spec {
            return Err(AerError::checkpoint(&last_path, format!("holds model '{}', not the requested '{}'; use another --out", ck.spec.name, spec.name)));
        }
        if &ck.config != cfg {
            return Err(AerError::checkpoint(&last_path, "was trained with other settings; rerun with the same settings or use another --out"));
        }
        ck.check_data(input, splits.classes, &last_path)?;
        let (m, o) = ck.restore(gpu)?;
        eprintln!("resuming after epoch {}", ck.epoch);
        (m, o, ck.history)
    } else {
        let m = Model::new(gpu, spec, input, splits.classes, cfg.seed)?;
        let o = Optimizer::new(gpu, &cfg.optimizer, &m.params);
        (m, o, Vec::new())
    };
    eprintln!("model: {} ({} parameters), {:?}", spec.name, model.num_parameters(), cfg.optimizer.kind);
    let mut best = history.iter().map(|r| r.val_accuracy).fold(-1.0, f64::max);
    for epoch in history.len()..cfg.epochs {
        let t = Instant::now();
        let batches = splits.train.len().div_ceil(cfg.batch_size);
        let bar = epoch_bar(epoch, cfg.epochs, batches);
        let stats = block_on(train_epoch(gpu, &model, &mut opt, &splits.train, cfg, epoch, &mut |done, _| bar.set_position(done as u64)))?;
        let val = block_on(evaluate(gpu, &model, &splits.val, 256))?;
        bar.finish_and_clear();
        let rec = EpochRecord {
            epoch: epoch + 1,
            train_loss: stats.loss,
            train_accuracy: stats.accuracy,
            val_accuracy: val.accuracy,
            seconds: t.elapsed().as_secs_f64(),
        };
        eprintln!(
            "epoch {:>3}/{}  loss {:.4}  train {:.2}%  val {:.2}%  {:.2} s",
            rec.epoch,
            cfg.epochs,
            rec.train_loss,
            100.0 * rec.train_accuracy,
            100.0 * rec.val_accuracy,
            rec.seconds
        );
        history.push(rec);
        let ck = block_on(Checkpoint::capture(gpu, &model, &opt, cfg, epoch + 1, &history))?;
        if val.accuracy > best {
            best = val.accuracy;
            ck.save(&best_path)?;
        }
        ck.save(&last_path)?;
    }
    let best_ck = Checkpoint::load(&best_path)?;
    let (best_model, _) = best_ck.restore(gpu)?;
    let test = block_on(evaluate(gpu, &best_model, &splits.test, 256))?;
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
    write_atomic(&out.join("metrics.json"), serde_json::to_string_pretty(&metrics).unwrap().as_bytes())?;
    eprintln!("best epoch {} (val {:.2}%), test accuracy {:.2}%", best_ck.epoch, 100.0 * best, 100.0 * test.accuracy);
    Ok(FitResult { test_accuracy: test.accuracy, seconds_per_epoch })
}

fn eval(choice: &AdapterChoice, args: &EvalArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    if let Some(m) = &args.model {
        let want = ModelSpec::load(m)?;
        if want != ck.spec {
            return Err(AerError::checkpoint(&args.checkpoint, format!("holds model '{}', not the requested '{}'", ck.spec.name, want.name)));
        }
    }
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    ck.check_data(splits.train.shape, splits.classes, &args.checkpoint)?;
    let (model, _) = ck.restore(&gpu)?;
    let (name, data) = if args.split == SplitArg::Val { ("validation", &splits.val) } else { ("test", &splits.test) };
    let t = Instant::now();
    let r = block_on(evaluate(&gpu, &model, data, args.batch_size))?;
    println!("{name} accuracy: {:.2}% ({} examples, {:.2} s)", 100.0 * r.accuracy, data.len(), t.elapsed().as_secs_f64());
    Ok(())
}
