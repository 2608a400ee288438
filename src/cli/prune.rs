//! `aer prune`: the lottery-ticket procedure (and COLT) on top of the training flags.

use super::common::{load_data, load_run_file, open};
use super::options::AdapterArgs;
use super::train::{model_spec, train_config, TrainArgs};
use crate::files::write_json;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PruneArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// Pruning rounds after the dense run [default: 15].
    #[arg(help_heading = "Lottery ticket", long)]
    pub rounds: Option<usize>,
    /// Fraction of the remaining weights pruned per round [default: 0.2].
    #[arg(help_heading = "Lottery ticket", long)]
    pub rate: Option<f64>,
    /// One magnitude threshold across layers, or the same fraction per layer [default: global].
    #[arg(help_heading = "Lottery ticket", long, value_enum)]
    pub scope: Option<crate::sparse::Scope>,
    /// Rewind survivors to the weights after this many dense epochs; 0 means the initial
    /// weights [default: 0].
    #[arg(help_heading = "Lottery ticket", long)]
    pub rewind_epoch: Option<usize>,
    /// Cyclic overlapping lottery tickets (COLT): each round trains the ticket on this many
    /// disjoint shares of the training data and keeps only the weights all their masks keep.
    #[arg(help_heading = "Lottery ticket", long)]
    pub colt_parts: Option<usize>,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}
pub fn run(gpu_args: &AdapterArgs, args: &PruneArgs) -> Result<()> {
    let choice = &gpu_args.choice();
    use crate::sparse::lottery_ticket;
    let a = &args.train;
    let file = load_run_file(a.config.as_deref())?;
    let cfg = train_config(a, file.train)?;
    let mut lt = file.prune.unwrap_or_default();
    if let Some(v) = args.rounds { lt.rounds = v; }
    if let Some(v) = args.rate { lt.rate = v; }
    if let Some(v) = args.scope {
        lt.scope = v;
    }
    if let Some(v) = args.rewind_epoch { lt.rewind_epoch = v; }
    if let Some(v) = args.colt_parts { lt.parts = v; }
    if !(lt.rate > 0.0 && lt.rate < 1.0) {
        return Err(AerError::Invalid(format!("--rate {} must be in (0, 1)", lt.rate)));
    }
    if lt.rewind_epoch >= cfg.epochs {
        return Err(AerError::Invalid(format!("--rewind-epoch {} must be below --epochs {}", lt.rewind_epoch, cfg.epochs)));
    }
    let gpu = open(choice)?;
    let splits = load_data(&a.data)?;
    let spec = model_spec(a)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{}-lottery-s{}", spec.name, cfg.seed)));
    std::fs::create_dir_all(&out).map_err(|e| AerError::file(&out, format!("cannot create the output directory: {e}")))?;
    let what = if lt.parts > 1 { format!("COLT over {} data shares", lt.parts) } else { "lottery ticket".into() };
    eprintln!("{what}: {} rounds of {:.0}% ({:?}), rewind to epoch {}, {} epochs per round", lt.rounds, 100.0 * lt.rate, lt.scope, lt.rewind_epoch, cfg.epochs);
    let cfg = crate::methods::REGISTRY.check(&cfg)?;
    let mut methods = crate::methods::REGISTRY.build(&cfg)?;
    let rounds = block_on(lottery_ticket(&gpu, &splits, &spec, &cfg, &lt, &mut methods, &mut |r| {
        eprintln!(
            "round {:>2}: {:6.2}% of weights  best epoch {:>2}  val {:.2}%  test {:.2}%  {:.1} s",
            r.round,
            100.0 * r.remaining,
            r.best_epoch,
            100.0 * r.val_accuracy,
            100.0 * r.test_accuracy,
            r.seconds
        );
    }))?;
    let doc = serde_json::json!({"model": spec.name, "adapter": gpu.adapter_label(), "data": splits.source, "config": cfg, "lottery": lt, "rounds": rounds});
    write_json(&out.join("lottery.json"), &doc)?;
    eprintln!("wrote {}", out.join("lottery.json").display());
    Ok(())
}
