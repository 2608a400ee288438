//! `aer demo`: the mlp preset trained on the bundled MNIST subset.

use super::common::{load_data, open};
use super::options::{at_least_one, AdapterArgs, DataArgs};
use super::progress::fit;
use crate::nn::ModelSpec;
use crate::train::{FitOptions, LrSchedule, OptimizerConfig, OptimizerKind, TrainConfig};
use crate::Result;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Epochs to train.
    #[arg(long, default_value_t = 12, value_parser = at_least_one)]
    pub epochs: usize,
    /// Directory for checkpoints.
    #[arg(long, default_value = "runs/demo")]
    pub out: PathBuf,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &DemoArgs) -> Result<()> {
    let gpu = open(&gpu_args.choice())?;
    let splits = load_data(&DataArgs::bundled())?;
    let cfg = TrainConfig {
        epochs: args.epochs,
        batch_size: 128,
        seed: 0,
        // Chosen on the validation split among Adam and SGD settings (scripts/figures/demo-sweep.sh).
        optimizer: OptimizerConfig { kind: OptimizerKind::Sgd, lr: 0.1, momentum: 0.9, weight_decay: 5e-4, ..Default::default() },
        schedule: LrSchedule::Cosine,
        ..Default::default()
    };
    let t = Instant::now();
    let r = fit(&gpu, &splits, &ModelSpec::load("mlp")?, &cfg, &args.out, &FitOptions::default())?;
    println!("test accuracy: {:.1}%", 100.0 * r.test_accuracy);
    println!("time per epoch: {:.2} s (total {:.1} s)", r.seconds_per_epoch, t.elapsed().as_secs_f64());
    // The first epoch also builds every pipeline (cached for the next run where the driver can).
    if let Some((first, warm)) = epoch_seconds(&args.out.join("metrics.json")) {
        println!("first epoch: {first:.2} s; later epochs: median {warm:.2} s");
    }
    let (pipelines, seconds) = gpu.pipelines_built();
    println!("pipelines: {pipelines} built in {seconds:.1} s");
    println!("adapter: {}", gpu.adapter_label());
    Ok(())
}

/// The first epoch's seconds and the median of the later ones, from the run's metrics.json.
fn epoch_seconds(metrics: &std::path::Path) -> Option<(f64, f64)> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(metrics).ok()?).ok()?;
    let mut s: Vec<f64> = v.get("history")?.as_array()?.iter().filter_map(|e| e.get("seconds")?.as_f64()).collect();
    if s.len() < 2 {
        return None;
    }
    let first = s.remove(0);
    s.sort_by(f64::total_cmp);
    Some((first, s[s.len() / 2]))
}
