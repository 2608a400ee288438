//! `aer resave`: a checkpoint written before checksums were mandatory, written again with its
//! checksum (and, with --weights-only, without its optimizer state). No GPU is needed.

use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ResaveArgs {
    /// The checkpoint to re-save; one with a checksum must match it.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The file to write it to (default: over the checkpoint, atomically). A file, not a
    /// directory: every `--out` of aer is a directory.
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// Leave out the optimizer state: enough to evaluate, attack or start a run from
    /// (--init), not to resume one.
    #[arg(long)]
    pub weights_only: bool,
}

pub fn run(args: &ResaveArgs) -> Result<()> {
    let path = &args.checkpoint;
    let bytes = std::fs::read(path).map_err(|e| AerError::checkpoint(path, format!("cannot read: {e}")))?;
    let mut ck = Checkpoint::from_bytes_unchecked(&bytes).map_err(|reason| AerError::checkpoint(path, reason))?;
    if args.weights_only {
        ck = ck.without_optimizer();
    }
    let out = args.to.as_ref().unwrap_or(path);
    ck.save(out)?;
    let optimizer = ck.tensors.keys().filter(|k| k.starts_with("optimizer.")).count();
    println!("re-saved model '{}' (epoch {}, {} tensors, {optimizer} of them optimizer state) with its checksum", ck.spec.name, ck.epoch, ck.tensors.len() + ck.packed.len());
    println!("wrote {}", out.display());
    Ok(())
}
