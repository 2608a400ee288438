//! `aer export`: a checkpoint's weights as plain safetensors.

use super::common::open;
use super::options::GpuArgs;
use crate::files::write_atomic;
use crate::train::Checkpoint;
use crate::Result;
use clap::Args;
use pollster::block_on;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(gpu_args: &GpuArgs, args: &ExportArgs) -> Result<()> {
    let choice = &gpu_args.choice();
    let mut ck = Checkpoint::load(&args.checkpoint)?;
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
    write_atomic(&args.out, &crate::nn::interop::write_tensors(&tensors, meta)?)?;
    println!("exported {} tensors of model '{}' ({})", tensors.len(), ck.spec.name, tensors.iter().map(|(n, s, _)| format!("{n} {s:?}")).collect::<Vec<_>>().join(", "));
    println!("wrote {}", args.out.display());
    Ok(())
}
