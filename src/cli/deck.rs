//! `aer deck build | eval`: CARD-Decks (docs/deck.md). `build` reads trained checkpoints and
//! the validation images and writes deck.toml with the gate's spectra; `eval` measures the
//! deck, each member alone and a reference (dense) model on clean and corrupted test images
//! (the corrupted images of `aer shift`) with the members' stored sizes, and writes deck.json.

use super::common::{open, out_dir, report, restore_for};
use super::options::{at_least_one, DataArgs, GpuArgs};
use crate::deck::{build_deck, evaluate_deck, DeckEvalConfig, DeckFile, Gate};
use crate::files::write_json;
use crate::shift::{check_request, Set, ShiftConfig};
use crate::train::Checkpoint;
use crate::{AerError, Result};
use clap::{Args, Subcommand};
use pollster::block_on;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct DeckCmd {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// Write DIR/deck.toml: the members (checkpoints and the augmentation each trained with),
    /// the clean spectrum of the validation images and each member's augmentation signature.
    Build(BuildArgs),
    /// Accuracy of the deck, of each member alone and of --reference on clean test images and
    /// on each corruption and severity, the gate's choices and the members' stored bytes;
    /// writes deck.json.
    Eval(EvalArgs),
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// A member's checkpoint (.safetensors); give --member once per member.
    #[arg(help_heading = "Deck", long = "member", required = true)]
    pub members: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Directory for deck.toml, created if missing.
    #[arg(help_heading = "Run", long)]
    pub out: PathBuf,
    /// Seed of the augmentations applied to the validation images.
    #[arg(help_heading = "Deck", long, default_value_t = 0)]
    pub seed: u32,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The deck file (`aer deck build`).
    #[arg(help_heading = "Deck", long)]
    pub deck: PathBuf,
    /// The data set's name or directory [default: the deck's].
    #[arg(help_heading = "Data", long)]
    pub data: Option<PathBuf>,
    /// Corruptions, comma-separated [default: every one of the data's set].
    #[arg(help_heading = "Corruptions", long, value_delimiter = ',')]
    pub corruptions: Vec<String>,
    /// Severities from 1 (mildest) to 5, comma-separated.
    #[arg(help_heading = "Corruptions", long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub severities: Vec<u32>,
    /// Seed of the corruptions' draws (as `aer shift --seed`: the same images).
    #[arg(help_heading = "Corruptions", long, default_value_t = 0)]
    pub seed: u32,
    /// Evaluate on N test examples spread evenly over the split.
    #[arg(help_heading = "Data", long, default_value_t = 1000, value_parser = at_least_one)]
    pub n: usize,
    /// The gate: `top1` (the member with the nearest signature), `topk K` (the K nearest,
    /// equally weighted) or `soft T` (all, weighted by softmax(-distance / T)).
    #[arg(help_heading = "Deck", long, num_args = 1..=2, value_names = ["KIND", "VALUE"], default_value = "top1")]
    pub gate: Vec<String>,
    /// A reference checkpoint (the dense model) evaluated on the same images, with its size.
    #[arg(help_heading = "Model", long)]
    pub reference: Option<PathBuf>,
    /// Images per gate batch (the gate sees one batch at a time).
    #[arg(help_heading = "Run", long, default_value_t = 256, value_parser = at_least_one)]
    pub batch_size: usize,
    /// Directory for deck.json, created if missing [default: the deck file's directory].
    #[arg(help_heading = "Run", long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

pub fn run(args: &DeckCmd) -> Result<()> {
    match &args.action {
        Action::Build(a) => build(&a.gpu, a),
        Action::Eval(a) => eval(&a.gpu, a),
    }
}

fn build(gpu_args: &GpuArgs, a: &BuildArgs) -> Result<()> {
    let members = a.members.iter().map(|p| Ok((std::path::absolute(p).unwrap_or_else(|_| p.clone()), Checkpoint::load(p)?))).collect::<Result<Vec<_>>>()?;
    let splits = super::common::load_data(&a.data)?;
    out_dir(&a.out)?;
    let gpu = open(&gpu_args.choice())?;
    let deck = block_on(build_deck(&gpu, &members, &splits.val, splits.classes, &a.data.data.display().to_string(), a.seed))?;
    let path = a.out.join("deck.toml");
    deck.save(&path)?;
    for m in &deck.members {
        let size = (m.signature.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / m.signature.len().max(1) as f64).sqrt();
        eprintln!("  {} ({}): signature RMS {size:.4}", m.checkpoint.display(), m.augmentation.label());
    }
    eprintln!("wrote {} ({} members, spectra of {} validation images)", path.display(), deck.members.len(), deck.validation_images);
    Ok(())
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn eval(gpu_args: &GpuArgs, a: &EvalArgs) -> Result<()> {
    let (choice, dense_kernels) = (&gpu_args.choice(), gpu_args.dense_kernels);
    let gate = Gate::parse(&a.gate)?;
    let deck = DeckFile::load(&a.deck)?;
    let cks = deck.members.iter().map(|m| Checkpoint::load(&m.checkpoint)).collect::<Result<Vec<_>>>()?;
    let named: Vec<(String, &Checkpoint)> = deck.members.iter().map(|m| m.checkpoint.display().to_string()).zip(&cks).collect();
    crate::uncertainty::check_member_shapes(&named)?;
    let reference = a.reference.as_ref().map(|p| Checkpoint::load(p).map(|c| (p, c))).transpose()?;
    let data_path = a.data.clone().unwrap_or_else(|| PathBuf::from(&deck.data));
    let splits = super::common::load_data(&DataArgs { data: data_path, val_size: None })?;
    let set = Set::for_channels(splits.test.shape[0]);
    let corruptions: Vec<String> = if a.corruptions.is_empty() { set.names().iter().map(|s| s.to_string()).collect() } else { a.corruptions.clone() };
    check_request(set, &corruptions, &a.severities)?;
    if deck.input != splits.test.shape || deck.classes != splits.classes {
        return Err(AerError::file(&a.deck, format!("was built for {:?} images of {} classes, but the data has {:?} images of {} classes: give the deck's data (--data)", deck.input, deck.classes, splits.test.shape, splits.classes)));
    }
    let gpu = open(choice)?;
    let models = deck.members.iter().zip(&cks).map(|(m, ck)| restore_for(&gpu, ck, &m.checkpoint, splits.train.shape, splits.classes, dense_kernels)).collect::<Result<Vec<_>>>()?;
    let ref_model = reference.as_ref().map(|(p, c)| restore_for(&gpu, c, p, splits.train.shape, splits.classes, dense_kernels)).transpose()?;
    let data = splits.test.spread(a.n);
    if data.is_empty() {
        return Err(AerError::Invalid("the test split is empty: nothing to evaluate".into()));
    }
    let dir = a.out.clone().unwrap_or_else(|| a.deck.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")));
    out_dir(&dir)?;
    let cfg = DeckEvalConfig { shift: ShiftConfig { corruptions: corruptions.clone(), severities: a.severities.clone(), seed: a.seed, batch_size: a.batch_size }, gate };
    eprintln!("deck of {} on {} test examples: {} ({}), severities {:?}, gate {}", models.len(), data.len(), set.label(), corruptions.join(", "), a.severities, gate.label());
    let t = std::time::Instant::now();
    let r = block_on(evaluate_deck(&gpu, &deck, &models.iter().collect::<Vec<_>>(), ref_model.as_ref(), &data, &cfg, &mut |what| eprintln!("  {what}")))?;

    // Sizes as the AER report counts them: pruned weights as kept values with their indices,
    // packed ternary weights as 2-bit codes with their scales.
    let sizes: Vec<_> = cks.iter().map(|c| c.stored_size()).collect();
    let total_bytes: usize = sizes.iter().map(|s| s.bytes()).sum();
    let dense_bytes = reference.as_ref().map(|(_, c)| c.stored_size().bytes());
    let corrupted = &r.conditions[1..];
    let mca = |f: &dyn Fn(&crate::deck::ConditionResult) -> f64| mean(&corrupted.iter().map(f).collect::<Vec<_>>());
    let member_mca: Vec<f64> = (0..models.len()).map(|m| mca(&|c| c.members[m])).collect();
    let best = (0..models.len()).fold(0, |b, m| if member_mca[m] > member_mca[b] { m } else { b });
    let members: Vec<Value> = deck.members.iter().zip(&cks).zip(&sizes).enumerate().map(|(i, ((m, ck), s))| json!({
        "checkpoint": m.checkpoint, "model": ck.spec.name, "augmentation": m.augmentation.label(), "settings": m.augmentation,
        "bytes": s.bytes(), "dense_f32_bytes": s.f32_bytes(), "sparsity": s.sparsity(), "weight_bits": 8.0 * s.weight_bytes as f64 / s.weights.max(1) as f64,
        "clean_accuracy": r.conditions[0].members[i], "mean_corruption_accuracy": member_mca[i],
    })).collect();
    let conditions: Vec<Value> = r.conditions.iter().map(|c| json!({
        "corruption": c.corruption.as_deref().unwrap_or("clean"), "severity": c.severity, "deck": c.deck, "members": c.members,
        "reference": c.reference, "gate_weights": c.gate_weights, "chosen": c.chosen, "chosen_augmentation": deck.members[c.chosen].augmentation.label(),
    })).collect();
    let reference_json = reference.as_ref().map_or(Value::Null, |(p, c)| json!({
        "checkpoint": p, "model": c.spec.name, "bytes": dense_bytes, "clean_accuracy": r.conditions[0].reference, "mean_corruption_accuracy": mca(&|c| c.reference.unwrap_or(0.0)),
    }));
    let out = dir.join("deck.json");
    let results = report(&a.deck, &cks[0], &gpu, "test", data.len(), json!({
        "set": set.label(),
        "seed": a.seed,
        "severities": a.severities,
        "gate": gate.label(),
        "gate_batch": r.batch,
        "members": members,
        "best_member": best,
        "reference": reference_json,
        "deck": {"clean_accuracy": r.conditions[0].deck, "mean_corruption_accuracy": mca(&|c| c.deck), "bytes": total_bytes},
        "dense_bytes": dense_bytes,
        "deck_smaller_than_dense": dense_bytes.map(|d| total_bytes < d),
        "conditions": conditions,
        "seconds": t.elapsed().as_secs_f64(),
    }));
    write_json(&out, &results)?;
    let line = |name: &str, clean: f64, mca: f64, bytes: Option<usize>| eprintln!("  {name:24} clean {:6.2}%  corrupted {:6.2}%  {}", 100.0 * clean, 100.0 * mca, bytes.map_or(String::new(), |b| format!("{b} B")));
    line("deck", r.conditions[0].deck, mca(&|c| c.deck), Some(total_bytes));
    for (i, m) in deck.members.iter().enumerate() {
        line(&format!("member {i} ({})", m.augmentation.label()), r.conditions[0].members[i], member_mca[i], Some(sizes[i].bytes()));
    }
    if let Some(clean) = r.conditions[0].reference {
        line("reference", clean, mca(&|c| c.reference.unwrap_or(0.0)), dense_bytes);
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
