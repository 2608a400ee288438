use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "aer", version, about = "Train, prune, ternarize and attack neural networks on any GPU (WGSL on wgpu)")]
pub struct Cli {
    #[command(flatten)]
    pub gpu: GpuArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GpuArgs {
    /// Use the adapter whose name contains this text (case-insensitive), e.g. llvmpipe.
    #[arg(long, global = true, env = "WGPU_ADAPTER_NAME")]
    pub adapter: Option<String>,
    /// Restrict to a backend: vulkan, gl, metal, dx12.
    #[arg(long, global = true, env = "WGPU_BACKEND")]
    pub backend: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every GPU adapter wgpu can see, with backend, driver and the limits that matter.
    Adapters {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Train a model on an IDX (MNIST-style) or CIFAR-10 data directory.
    Train(TrainArgs),
    /// Evaluate a checkpoint on the test (or validation) split.
    Eval(EvalArgs),
    /// Train the mlp preset on the bundled MNIST subset and report test accuracy.
    Demo {
        /// Epochs to train.
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        /// Directory for checkpoints.
        #[arg(long, default_value = "runs/demo")]
        out: PathBuf,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum OptimizerArg {
    Sgd,
    Adam,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ScheduleArg {
    Constant,
    Cosine,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum SplitArg {
    Test,
    Val,
}

#[derive(Args, Debug)]
pub struct DataArgs {
    /// Data directory: MNIST-style IDX files (raw or .gz) or CIFAR-10 binary batches.
    #[arg(long, default_value = crate::data::BUNDLED_MNIST)]
    pub data: PathBuf,
    /// Training images held out (from the end) for validation.
    #[arg(long, default_value_t = crate::data::VALIDATION_SIZE)]
    pub val_size: usize,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A preset (mlp, cnn) or a TOML model file.
    #[arg(long, default_value = "mlp")]
    pub model: String,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,
    /// Learning rate (default: 1e-3 for Adam, 0.05 for SGD).
    #[arg(long)]
    pub lr: Option<f32>,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    #[arg(long)]
    pub nesterov: bool,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// Decay weights directly (AdamW) instead of adding weight_decay * w to the gradient.
    #[arg(long)]
    pub decoupled: bool,
    #[arg(long, value_enum, default_value_t = ScheduleArg::Cosine)]
    pub schedule: ScheduleArg,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory for last.safetensors, best.safetensors and metrics.json
    /// (default: runs/<model>-s<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from <out>/last.safetensors if it exists (same settings required).
    #[arg(long)]
    pub resume: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint file (.safetensors) written by `aer train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Refuse the checkpoint unless it holds this model (a preset name or TOML file).
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
}
