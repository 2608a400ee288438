//! `aer calibrate`: temperature scaling. Fits the temperature on the validation split,
//! reports ECE and NLL on validation and test before and after, and writes a copy of the
//! checkpoint holding the temperature (`<stem>-calibrated.safetensors`; the input is left as it
//! is) and the figures (`<stem>-calibrate.json`).

use super::common::{load_data, open, report, restore_for, results_path};
use super::options::{at_least_one, DataArgs, GpuArgs};
use crate::train::Checkpoint;
use crate::uncertainty::{calibration, fit_temperature, logits, Pass};
use crate::Result;
use clap::Args;
use pollster::block_on;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint file (.safetensors) to calibrate; it is not modified.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Directory for <stem>-calibrated.safetensors (the checkpoint with its temperature) and
    /// <stem>-calibrate.json, created if missing [default: the checkpoint's run directory,
    /// runs/<stem>/ for a shipped checkpoint].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Examples per batch on the GPU.
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(gpu_args: &GpuArgs, args: &CalibrateArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    let gpu = open(&gpu_args.choice())?;
    let splits = load_data(&args.data)?;
    let model = restore_for(&gpu, &ck, &args.checkpoint, splits.train.shape, splits.classes, gpu_args.dense_kernels)?;
    let val = block_on(logits(&gpu, &model, &splits.val, args.batch_size, &Pass::default()))?;
    // Fitted on validation only: the test split stays unseen by the fit.
    let t = fit_temperature(&val)?;
    if let Some(old) = ck.temperature {
        eprintln!("the checkpoint held temperature {old}; the new one is fitted on its raw logits and replaces it");
    }
    let test = block_on(logits(&gpu, &model, &splits.test, args.batch_size, &Pass::default()))?;
    println!("temperature {t:.4} (fitted on {} validation images)", splits.val.len());
    let mut figures = serde_json::Map::new();
    for (name, z) in [("validation", &val), ("test", &test)] {
        let (before, after) = (calibration(&z.probabilities(1.0)), calibration(&z.probabilities(t)));
        println!("{name} before: {before}");
        println!("{name} after:  {after}");
        figures.insert(name.into(), json!({"examples": z.labels.len(), "before": before, "after": after}));
    }
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-calibrated.safetensors")?;
    Checkpoint { temperature: Some(t as f32), ..ck.clone() }.save(&out)?;
    eprintln!("wrote {}", out.display());
    figures.insert("temperature".into(), json!(t as f32));
    figures.insert("calibrated_checkpoint".into(), json!(out));
    let json_path = results_path(&args.checkpoint, args.out.as_deref(), "-calibrate.json")?;
    let r = report(&args.checkpoint, &ck, &gpu, "validation", splits.val.len(), serde_json::Value::Object(figures));
    crate::files::write_atomic(&json_path, crate::files::to_json_pretty(&r).as_bytes())?;
    eprintln!("wrote {}", json_path.display());
    Ok(())
}
