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
    println!("adapter: {}", gpu.adapter_label());
    Ok(())
}
