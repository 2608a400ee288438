//! `aer export`: a checkpoint's weights as plain safetensors.

use super::common::{open, results_path};
use super::options::AdapterArgs;
use crate::files::write_atomic;
use crate::train::Checkpoint;
use crate::Result;
use clap::Args;
use pollster::block_on;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The checkpoint to export (.safetensors written by aer).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Directory for the weights, <name>-export.safetensors [default: the checkpoint's
    /// directory; runs/<name>/ for one under assets/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &ExportArgs) -> Result<()> {
    let choice = &gpu_args.choice();
    let mut ck = Checkpoint::load(&args.checkpoint)?;
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-export.safetensors")?;
    let gpu = open(choice)?;
    if ck.spec.quant.is_some() && ck.packed.is_empty() {
        // Latent weights are not what a quantized model computes with: pack them first.
        let (latent, _) = ck.restore(&gpu)?;
        ck = block_on(Checkpoint::capture_packed(&gpu, &latent, &ck.config, ck.epoch, &ck.history))?;
    }
    let (model, _) = ck.restore(&gpu)?;
    // The values the model computes with: dequantized where packed, zero where pruned.
    let tensors = block_on(model.download(&gpu))?;
    let mut meta = std::collections::HashMap::new();
    meta.insert("format".to_string(), "aer-weights".to_string());
    meta.insert("model_spec".to_string(), ck.spec.to_toml());
    meta.insert("input_shape".to_string(), serde_json::to_string(&ck.input).unwrap());
    meta.insert("classes".to_string(), ck.classes.to_string());
    write_atomic(&out, &crate::nn::interop::write_tensors(&tensors, meta)?)?;
    println!("exported {} tensors of model '{}' ({})", tensors.len(), ck.spec.name, tensors.iter().map(|(n, s, _)| format!("{n} {s:?}")).collect::<Vec<_>>().join(", "));
    println!("wrote {}", out.display());
    Ok(())
}
