//! `aer report`: the AER report of a directory of pipeline runs.

use crate::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A directory `aer run` wrote (searched for run summaries, at any depth).
    pub dir: PathBuf,
    /// Where the report goes [default: DIR/report].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &ReportArgs) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("report"));
    let written = crate::report::aer::write_report(&args.dir, &out)?;
    for p in written {
        eprintln!("wrote {}", p.display());
    }
    Ok(())
}
