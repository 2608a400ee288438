//! What the subcommands share: opening the GPU, loading the data, a checkpoint's model and a
//! run file, and the common shape of the JSON results.

use super::options::DataArgs;
use crate::attack::AttackSettings;
use crate::data::Splits;
use crate::gpu::{AdapterChoice, Gpu};
use crate::nn::Model;
use crate::train::{Checkpoint, FitEvent, TrainConfig};
use crate::{AerError, Result};
use pollster::block_on;
use serde_json::json;
use std::path::{Path, PathBuf};

pub fn open(choice: &AdapterChoice) -> Result<Gpu> {
    let gpu = block_on(Gpu::new(choice))?;
    eprintln!("adapter: {}", gpu.adapter_label());
    Ok(gpu)
}

/// The data `--data` names (a directory or a data set's name), split as `--val-size` says.
pub fn load_data(args: &DataArgs) -> Result<Splits> {
    let s = crate::data::open(&args.data, args.val_size)?;
    eprintln!(
        "data: {} ({} train, {} val, {} test, {:?}, {} classes)",
        s.source,
        s.train.len(),
        s.val.len(),
        s.test.len(),
        s.train.shape,
        s.classes
    );
    Ok(s)
}

/// Move pruned layers to the block-sparse kernels where this adapter's crossover says they
/// are faster, and say which.
pub fn block_sparse(gpu: &Gpu, model: &mut Model, dense_kernels: bool) -> Result<()> {
    block_on(crate::train::block_sparse(gpu, model, dense_kernels, &mut |ev| {
        if let FitEvent::Note(s) = ev {
            eprintln!("{s}")
        }
    }))
}

/// The checkpoint's model on the GPU for inference (evaluation, attacks, bounds), checked
/// against the data: batch normalization folded into the preceding layers, which computes the
/// same function with fewer launches (`crate::nn::fold_batchnorm`).
pub fn restore_for(gpu: &Gpu, ck: &Checkpoint, path: &Path, input: [usize; 3], classes: usize, dense_kernels: bool) -> Result<Model> {
    if ck.spec.layers.iter().any(|l| matches!(l, crate::nn::LayerSpec::Batchnorm { .. })) {
        let (folded, folding) = ck.folded().map_err(|e| AerError::file(path, format!("cannot fold its batch normalization for inference: {e}")))?;
        log::info!("{}: {folding}", path.display());
        return restore_stored(gpu, &folded, path, input, classes, dense_kernels);
    }
    restore_stored(gpu, ck, path, input, classes, dense_kernels)
}

/// The checkpoint's model on the GPU exactly as stored, checked against the data: for
/// commands that change or read the weights themselves (faults, weight corruption,
/// watermarks).
pub fn restore_stored(gpu: &Gpu, ck: &Checkpoint, path: &Path, input: [usize; 3], classes: usize, dense_kernels: bool) -> Result<Model> {
    ck.check_data(input, classes, path)?;
    let mut model = ck.restore(gpu)?.0;
    block_sparse(gpu, &mut model, dense_kernels)?;
    Ok(model)
}

/// Where a command that reads `checkpoint` (or weights) writes its results: the directory
/// `out` (`--out` is always a directory) or, by default, the checkpoint's own run directory;
/// a checkpoint shipped under `assets/` (read-only, tracked) gets `runs/<stem>/` instead.
/// Inside, the file (or directory, for `attack` and `siblings`) is the checkpoint's stem plus
/// `suffix` (`best-verify.json`), so results of `best` and `last` never overwrite each other.
/// The directory is created; a file in its place is refused.
pub fn results_path(checkpoint: &Path, out: Option<&Path>, suffix: &str) -> Result<PathBuf> {
    let stem = checkpoint.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None if shipped(checkpoint) => PathBuf::from("runs").join(&stem),
        None => checkpoint.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(".")),
    };
    out_dir(&dir)?;
    Ok(dir.join(format!("{stem}{suffix}")))
}

/// The `--out` directory `dir`, created if missing; a file in its place is refused.
pub fn out_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(AerError::file(dir, "is a file, but --out takes a directory: give a directory (it is created if missing)"));
    }
    std::fs::create_dir_all(dir).map_err(|e| AerError::file(dir, format!("cannot create the output directory: {e}")))
}

/// A checkpoint that ships with aer (under an `assets` directory): results never go beside it.
fn shipped(checkpoint: &Path) -> bool {
    checkpoint.components().any(|c| c.as_os_str() == "assets")
}

/// A command's JSON results: the fields every evaluation report shares (the checkpoint, its
/// model, the adapter, the split and how many of its examples), then `body`'s.
pub fn report(checkpoint: &Path, ck: &Checkpoint, gpu: &Gpu, split: &str, examples: usize, body: serde_json::Value) -> serde_json::Value {
    let mut r = json!({"checkpoint": checkpoint, "model": ck.spec.name, "adapter": gpu.adapter_label(), "split": split, "examples": examples});
    if let (Some(r), serde_json::Value::Object(b)) = (r.as_object_mut(), body) {
        r.extend(b);
    }
    r
}

/// A run file: `[train]` (TrainConfig, with `[train.optimizer]` and `[train.adv]`) and
/// `[attack]` (AttackSettings).
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct RunFile {
    pub train: Option<TrainConfig>,
    pub attack: Option<AttackSettings>,
    /// `[prune]`: lottery-ticket settings.
    pub prune: Option<crate::sparse::LotteryConfig>,
}

pub fn load_run_file(path: Option<&Path>) -> Result<RunFile> {
    let Some(path) = path else { return Ok(RunFile::default()) };
    let text = std::fs::read_to_string(path).map_err(|e| AerError::file(path, format!("cannot read the config: {e}")))?;
    toml::from_str(&text).map_err(|e| AerError::file(path, format!("is not a valid run file ([train] and [attack] tables): {e}")))
}

/// The checkpoints of an ensemble on the GPU, checked against each other (one architecture,
/// input shape and class count: an error names the two files and what differs) and against
/// data of `input` shape with `classes` classes.
pub fn restore_members(gpu: &Gpu, paths: &[PathBuf], input: [usize; 3], classes: usize, dense_kernels: bool) -> Result<(Vec<Checkpoint>, Vec<Model>)> {
    let cks = paths.iter().map(|p| Checkpoint::load(p)).collect::<Result<Vec<_>>>()?;
    let named: Vec<(String, &Checkpoint)> = paths.iter().map(|p| p.display().to_string()).zip(&cks).collect();
    crate::uncertainty::check_members(&named)?;
    let models = paths.iter().zip(&cks).map(|(p, ck)| restore_for(gpu, ck, p, input, classes, dense_kernels)).collect::<Result<Vec<_>>>()?;
    Ok((cks, models))
}
