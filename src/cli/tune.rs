//! `aer tune`: measure this adapter's block-sparse crossover and cache it.

use super::common::open;
use super::options::AdapterArgs;
use crate::Result;
use clap::Args;
use pollster::block_on;

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// A small layer, a few seconds (the cache is not written).
    #[arg(long)]
    pub quick: bool,
    /// Timed runs per measurement.
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &TuneArgs) -> Result<()> {
    let (choice, quick, runs) = (&gpu_args.choice(), args.quick, args.runs);
    let gpu = open(choice)?;
    let c = block_on(crate::bench::tune_crossover(&gpu, quick, runs, &mut |block, best, times| {
        let t: Vec<String> = times.iter().map(|(d, ms)| format!("{:.0}%: {ms:.2} ms", 100.0 * d)).collect();
        println!("blocks of {block:>2}: block-sparse up to {:.0}% kept ({})", 100.0 * best, t.join(", "));
    }))?;
    println!("{}", c.source);
    if quick {
        return Ok(());
    }
    let path = crate::kernels::tune::store(crate::kernels::tune::CROSSOVER_TABLE, &c.adapter, &c)?;
    println!("wrote {}", path.display());
    Ok(())
}
