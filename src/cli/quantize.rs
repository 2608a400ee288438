//! `aer quantize`: pack a quantized checkpoint's ternary weights and check the packed model.

use super::common::{load_data, open, results_path};
use super::options::{at_least_one, AdapterArgs, DataArgs};
use crate::train::{evaluate, Checkpoint};
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A checkpoint of a quantized model (trained with --quant).
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// Directory for the packed checkpoint, <name>-packed.safetensors [default: the
    /// checkpoint's directory; runs/<name>/ for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Examples per evaluation batch.
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Also report the packed model's test accuracy with half-precision activations in its
    /// ternary layers (adapters with shader-f16).
    #[arg(help_heading = "Run", long)]
    pub f16_activations: bool,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &QuantizeArgs) -> Result<()> {
    let choice = &gpu_args.choice();
    let ck = Checkpoint::load(&args.checkpoint)?;
    if !ck.packed.is_empty() {
        return Err(AerError::checkpoint(&args.checkpoint, "is already packed"));
    }
    let out = results_path(&args.checkpoint, args.out.as_deref(), "-packed.safetensors")?;
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    ck.check_data(splits.train.shape, splits.classes, &args.checkpoint)?;
    let (model, _) = ck.restore(&gpu)?;
    let latent = block_on(evaluate(&gpu, &model, &splits.test, args.batch_size))?;
    // How far each layer's ternary weights point from its full-precision ones.
    let cosine: std::collections::HashMap<String, f64> = match &model.quant {
        Some(q) => block_on(q.cosine_distances(&gpu, &model.params))?.into_iter().map(|(i, d)| (model.params[i].name.clone(), d)).collect(),
        None => Default::default(),
    };
    let packed = block_on(Checkpoint::capture_packed(&gpu, &model, &ck.config, ck.epoch, &ck.history)).map_err(|e| AerError::checkpoint(&args.checkpoint, e.to_string()))?;
    packed.save(&out)?;
    // Read the file back: the accuracy reported is the packed file's.
    let (packed_model, _) = Checkpoint::load(&out)?.restore(&gpu)?;
    let t = Instant::now();
    let r = block_on(evaluate(&gpu, &packed_model, &splits.test, args.batch_size))?;
    let (f32_bytes, packed_bytes, other) = packed.weight_bytes();
    println!("ternary layers: {} ({} weights)", packed.packed.len(), f32_bytes / 4);
    for (name, (s, words)) in &packed.packed {
        let cos = cosine.get(name).map(|d| format!(", cosine distance to f32 {d:.4}")).unwrap_or_default();
        println!("  {name:<16} [{}, {}]  {} B packed, {} B as f32{cos}", s[0], s[1], 4 * words.len(), 4 * s[0] * s[1]);
    }
    println!("ternary layers: {packed_bytes} B packed vs {f32_bytes} B f32 ({:.2}x smaller)", f32_bytes as f64 / packed_bytes.max(1) as f64);
    println!("whole model: {} B vs {} B f32 ({:.2}x smaller)", packed_bytes + other, f32_bytes + other, (f32_bytes + other) as f64 / (packed_bytes + other).max(1) as f64);
    println!("test accuracy: {:.2}% packed ({:.2} s), {:.2}% through the latent weights", 100.0 * r.accuracy, t.elapsed().as_secs_f64(), 100.0 * latent.accuracy);
    if args.f16_activations {
        let mut half = packed_model;
        half.use_f16_activations(&gpu, true)?;
        let t = Instant::now();
        let h = block_on(evaluate(&gpu, &half, &splits.test, args.batch_size))?;
        println!("test accuracy: {:.2}% packed with f16 activations ({:.2} s)", 100.0 * h.accuracy, t.elapsed().as_secs_f64());
    }
    println!("wrote {}", out.display());
    Ok(())
}
