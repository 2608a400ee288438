//! `aer tune`: measure this adapter's block-sparse crossover, matmul tune table and cutoffs
//! between kernels, and cache them.

use super::common::open;
use super::options::AdapterArgs;
use crate::kernels::tune::{store, CROSSOVER_TABLE, CUTOFFS_TABLE, MATMUL_TABLE};
use crate::Result;
use clap::{Args, ValueEnum};
use pollster::block_on;

/// Which of the cached tables `aer tune` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TuneTable {
    /// All three.
    All,
    /// The block-sparse crossover.
    Crossover,
    /// The fastest matmul launch per form and shape class.
    Matmul,
    /// Where layers change kernels: the largest batch at which a linear layer skips the
    /// channels winners-take-all dropped, the smallest layer trained on packed ternary weights.
    Cutoffs,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// Small layers and products (the cache is not written).
    #[arg(long)]
    pub quick: bool,
    /// Timed runs per measurement.
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Which table to measure.
    #[arg(long, value_enum, default_value_t = TuneTable::All)]
    pub table: TuneTable,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &TuneArgs) -> Result<()> {
    let (choice, quick, runs) = (&gpu_args.choice(), args.quick, args.runs);
    if runs == 0 {
        return Err(crate::AerError::Invalid("--runs 0 would time nothing: give at least 1".into()));
    }
    let gpu = open(choice)?;
    let wants = |t: TuneTable| args.table == TuneTable::All || args.table == t;
    if wants(TuneTable::Crossover) {
        println!("block-sparse crossover on {}:", gpu.adapter_label());
        let c = block_on(crate::bench::tune_crossover(&gpu, quick, runs, &mut |block, best, times| {
            let t: Vec<String> = times.iter().map(|(d, ms)| format!("{:.0}%: {ms:.2} ms", 100.0 * d)).collect();
            println!("blocks of {block:>2}: block-sparse up to {:.0}% kept ({})", 100.0 * best, t.join(", "));
        }))?;
        println!("{}", c.source);
        if !quick {
            println!("wrote {}", store(CROSSOVER_TABLE, &c.adapter, &c)?.display());
        }
    }
    if wants(TuneTable::Matmul) {
        println!("matmul launches on {} (speed-up over the default launch, run by run):", gpu.adapter_label());
        let t = block_on(crate::bench::tune_matmul(&gpu, quick, runs, &mut |class, &(_, m, n, k, _), measured| {
            let best = measured.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("the default is measured");
            let c = best.0;
            println!("{class:<28} {m} x {n} x {k}: {} candidates, best {:?} lanes {:?} splits {} at {:.2}x", measured.len(), c.kernel, c.lanes, c.splits, best.1);
        }))?;
        let tuned = t.choices.values().filter(|c| c.speedup > 1.0).count();
        println!("{}; {tuned} of {} classes launch other than the default", t.source, t.choices.len());
        if !quick {
            println!("wrote {}", store(MATMUL_TABLE, &t.adapter, &t)?.display());
        }
    }
    if wants(TuneTable::Cutoffs) {
        println!("cutoffs between kernels on {} (ms, the alternative against the dense product, run by run):", gpu.adapter_label());
        let c = block_on(crate::bench::tune_cutoffs(&gpu, quick, runs, &mut |name, measured| {
            let t: Vec<String> = measured.iter().map(|(size, ms, dense)| format!("{size}: {ms:.2} vs {dense:.2}")).collect();
            println!("{name}: {}", t.join(", "));
        }))?;
        let packed = match c.packed_training_min_weights {
            usize::MAX => "never".to_string(),
            v => format!("from {v} weights"),
        };
        println!("skip channels in linear layers up to batch {}; packed training {packed} ({})", c.skip_linear_max_batch, c.source);
        if !quick {
            println!("wrote {}", store(CUTOFFS_TABLE, &c.adapter, &c)?.display());
        }
    }
    if quick {
        println!("--quick: nothing cached");
    }
    Ok(())
}
