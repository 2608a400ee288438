//! `aer import`: weights trained elsewhere (safetensors) into a checkpoint, tested.

use super::common::{load_data, open, results_path};
use super::options::{AdapterArgs, DataArgs};
use crate::nn::{Model, ModelSpec};
use crate::train::{evaluate, Checkpoint, TrainConfig};
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The architecture: a preset (mlp, cnn, smallcnn, madry, resnet20, preact-resnet18, wrn-28-10) or a TOML model file.
    #[arg(help_heading = "Model", long, default_value = "mlp")]
    pub model: String,
    /// The safetensors file of weights.
    #[arg(help_heading = "Model", long)]
    pub weights: PathBuf,
    /// Directory for the checkpoint, <weights name>-imported.safetensors [default: the
    /// weights' directory; runs/<weights name>/ for weights under assets/].
    #[arg(help_heading = "Run", long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &ImportArgs) -> Result<()> {
    let choice = &gpu_args.choice();
    use crate::nn::interop::{match_tensors, read_tensors};
    let spec = ModelSpec::load(&args.model)?;
    let out = results_path(&args.weights, args.out.as_deref(), "-imported.safetensors")?;
    let splits = load_data(&args.data)?;
    let bytes = std::fs::read(&args.weights).map_err(|e| AerError::file(&args.weights, format!("cannot read: {e}")))?;
    let file = read_tensors(&bytes, &args.weights.display().to_string())?;
    let gpu = open(choice)?;
    let expected: Vec<(String, Vec<usize>)> = Model::new(&gpu, &spec, splits.train.shape, splits.classes, 0)?.params.iter().map(|p| (p.name.clone(), p.value.shape().to_vec())).collect();
    let values = match_tensors(&file, &expected, &args.weights.display().to_string())?;
    let model = Model::from_tensors(&gpu, &spec, splits.train.shape, splits.classes, &values)?;
    let test = block_on(evaluate(&gpu, &model, &splits.test, 256))?;
    let ck = Checkpoint {
        spec: spec.clone(),
        input: splits.train.shape,
        classes: splits.classes,
        epoch: 0,
        config: TrainConfig::default(),
        optimizer_step: 0,
        tensors: expected.iter().map(|(n, s)| (n.clone(), (s.clone(), values[n].clone()))).collect(),
        packed: Default::default(),
        history: Vec::new(),
        temperature: None,
    };
    ck.save(&out)?;
    println!("imported {} tensors into model '{}': test accuracy {:.2}% on {}", expected.len(), spec.name, 100.0 * test.accuracy, splits.source);
    println!("wrote {}", out.display());
    Ok(())
}
