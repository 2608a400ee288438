//! `aer watermark`: make a key, train a model with the key's triggers in it, and check a model
//! for them through its predictions (docs/watermark.md).

use super::common::{open, report, restore_stored, results_path};
use super::options::GpuArgs;
use super::train::{train_with, TrainArgs};
use crate::files::{write_atomic, write_json};
use crate::train::{evaluate, Checkpoint};
use crate::watermark::{embed::DEFAULT_SHARE, embed::DEFAULT_TRIGGERS, verify, WatermarkConfig, WatermarkKey, WatermarkRecord, DEFAULT_ALPHA};
use crate::{AerError, Result};
use clap::{Args, Subcommand};
use pollster::block_on;
use serde_json::json;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct WatermarkCmd {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// Write a new secret key: 32 random bytes from the operating system (no GPU).
    Keygen {
        /// The key file to write (kept secret; only its id is written anywhere else): the file
        /// `embed` and `verify` then read with --key.
        #[arg(long)]
        key: PathBuf,
        /// Replace a key file that exists (its watermarks can then no longer be shown).
        #[arg(long)]
        force: bool,
    },
    /// Train with the key's triggers in every batch (all of `aer train`'s flags apply); writes
    /// <out>/watermark.json, the record verify checks the key and model against.
    Embed(Box<EmbedArgs>),
    /// Query a checkpoint with the key's triggers (predictions only) and test its agreement
    /// with the key's labels against chance: match rate, chance rate, binomial p-value and
    /// the decision; writes <name>-watermark.json (see --out).
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// The key file (`aer watermark keygen`).
    #[arg(help_heading = "Watermark", long)]
    pub key: PathBuf,
    /// Triggers derived from the key and trained in.
    #[arg(help_heading = "Watermark", long, default_value_t = DEFAULT_TRIGGERS)]
    pub triggers: usize,
    /// Share of each training batch given to triggers.
    #[arg(help_heading = "Watermark", long, default_value_t = DEFAULT_SHARE)]
    pub share: f32,
    #[command(flatten)]
    pub train: TrainArgs,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The key file.
    #[arg(help_heading = "Watermark", long)]
    pub key: PathBuf,
    /// The model to check (.safetensors); only its predictions on the triggers are used.
    #[arg(help_heading = "Model", long)]
    pub checkpoint: PathBuf,
    /// The embedding's record (<run>/watermark.json): refuses another key, or a model of
    /// other inputs or classes than the triggers were made for, and gives the trigger count.
    #[arg(help_heading = "Watermark", long)]
    pub record: Option<PathBuf>,
    /// Triggers to query [default: the record's, else 100].
    #[arg(help_heading = "Watermark", long)]
    pub triggers: Option<usize>,
    /// Significance level: the model is called watermarked when p < alpha.
    #[arg(help_heading = "Watermark", long, default_value_t = DEFAULT_ALPHA)]
    pub alpha: f64,
    /// Also report the model's accuracy on this data set's test split (a name or directory).
    #[arg(help_heading = "Data", long)]
    pub data: Option<PathBuf>,
    /// Directory for the results, <name>-watermark.json [default: the checkpoint's directory;
    /// runs/<name>/ for one under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(args: &WatermarkCmd) -> Result<()> {
    match &args.action {
        Action::Keygen { key, force } => keygen(key, *force),
        Action::Embed(a) => embed(&a.gpu, a),
        Action::Verify(a) => verify_checkpoint(&a.gpu, a),
    }
}

fn keygen(out: &PathBuf, force: bool) -> Result<()> {
    if out.exists() && !force {
        return Err(AerError::file(out, "exists; a new key would lose the watermarks made with this one: choose another --key, or give --force"));
    }
    let mut bytes = [0u8; crate::watermark::key::KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| AerError::Invalid(format!("the operating system gave no random bytes for the key: {e}")))?;
    write_atomic(out, &bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o600)).map_err(|e| AerError::file(out, format!("cannot make the key readable by its owner only: {e}")))?;
    }
    println!("wrote {} (key id {})", out.display(), WatermarkKey::new(bytes).id());
    Ok(())
}

fn embed(gpu_args: &GpuArgs, a: &EmbedArgs) -> Result<()> {
    let key = WatermarkKey::load(&a.key)?;
    let settings = WatermarkConfig { key: a.key.clone(), triggers: a.triggers, share: a.share };
    let (_, splits, out) = train_with(gpu_args, &a.train, |cfg| {
        cfg.set(&settings);
        Ok(())
    })?;
    let record = WatermarkRecord::new(&key, a.triggers, splits.train.shape, splits.classes, a.share);
    let path = out.join("watermark.json");
    write_json(&path, &record)?;
    eprintln!("wrote {} (key id {}, {} triggers)", path.display(), record.key_id, record.triggers);
    Ok(())
}

fn verify_checkpoint(gpu_args: &GpuArgs, a: &VerifyArgs) -> Result<()> {
    let key = WatermarkKey::load(&a.key)?;
    let ck = Checkpoint::load(&a.checkpoint)?;
    let out = results_path(&a.checkpoint, a.out.as_deref(), "-watermark.json")?;
    let record = a.record.as_ref().map(|p| WatermarkRecord::load(p).map(|r| (p, r))).transpose()?;
    if let Some((p, r)) = &record {
        r.check(p, &key, &a.checkpoint, ck.input, ck.classes)?;
    }
    let n = a.triggers.or(record.as_ref().map(|(_, r)| r.triggers)).unwrap_or(DEFAULT_TRIGGERS);
    let gpu = open(&gpu_args.choice())?;
    let model = restore_stored(&gpu, &ck, &a.checkpoint, ck.input, ck.classes, gpu_args.dense_kernels)?;
    let v = block_on(verify(&gpu, &model, &key, n, a.alpha))?;
    let accuracy = match &a.data {
        Some(d) => {
            let splits = crate::data::open(d, None)?;
            ck.check_data(splits.test.shape, splits.classes, &a.checkpoint)?;
            Some(block_on(evaluate(&gpu, &model, &splits.test, 256))?.accuracy)
        }
        None => None,
    };
    println!(
        "{}: {} of {} triggers match the key's labels ({:.1}%, chance {:.1}%), p = {} (log10 p = {:.2}); {} at alpha {:e}",
        a.checkpoint.display(),
        v.matches,
        v.triggers,
        100.0 * v.match_rate,
        100.0 * v.chance,
        show_p(v.log10_p_value),
        v.log10_p_value,
        if v.watermarked { "WATERMARKED" } else { "not shown" },
        v.alpha
    );
    if let Some(acc) = accuracy {
        println!("test accuracy: {:.2}%", 100.0 * acc);
    }
    let body = json!({"watermark": v, "test_accuracy": accuracy, "record": a.record});
    write_json(&out, &report(&a.checkpoint, &ck, &gpu, "triggers", v.triggers, body))?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// A p-value as people read it, also where f64 cannot hold it: 3.2e-7, or 1e-1000.
fn show_p(log10_p: f64) -> String {
    if log10_p > -300.0 {
        format!("{:.3e}", 10f64.powf(log10_p))
    } else {
        let e = log10_p.floor();
        format!("{:.2}e{}", 10f64.powf(log10_p - e), e)
    }
}
