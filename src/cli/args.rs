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
    /// Keep every layer on the dense kernels (by default a pruned layer runs on the
    /// block-sparse ones when its share of kept blocks is below this adapter's crossover:
    /// see `aer tune`).
    #[arg(long, global = true)]
    pub dense_kernels: bool,
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
    /// Prune while training: the lottery-ticket procedure (iterative magnitude pruning with
    /// rewinding; COLT with --colt-parts), reporting accuracy at every sparsity; with --adv
    /// the tickets train adversarially and are chosen by robust validation accuracy.
    Prune(PruneArgs),
    /// Attack a checkpoint: robust accuracy per attack and in the worst case, a robustness
    /// curve, per-class results, minimal adversarial distances, sanity checks; writes JSON,
    /// a PNG grid and the adversarial examples.
    Attack(AttackArgs),
    /// Verify a checkpoint with interval bounds: the share of examples provably robust at
    /// eps (no input in the L-inf ball changes the prediction), beside clean and PGD robust
    /// accuracy, with the check verified <= PGD <= clean per example; writes verify.json.
    Verify(VerifyArgs),
    /// Parameter corruption: the largest loss increase a bounded weight perturbation causes
    /// (gradient ascent on the weights) against random perturbations of the same size, per
    /// layer and for all weights; writes corrupt.json.
    Corrupt(CorruptArgs),
    /// Fault injection: accuracy and robust accuracy as random bit flips in the stored weights
    /// (f32, f16, packed ternary) grow, and under approximate 8-bit multipliers; writes
    /// faults.json.
    Faults(FaultsArgs),
    /// Pack a quantized checkpoint's ternary weights (2 bits each, 16 per u32) for inference
    /// and attacks: reports the sizes and checks the packed model's test accuracy.
    Quantize(QuantizeArgs),
    /// Measure when pruned layers run faster on the block-sparse kernels than dense on this
    /// adapter (the largest share of kept blocks, per block size), and cache it for this
    /// adapter; train, eval and attack read it.
    Tune {
        /// A small layer, a few seconds (the cache is not written).
        #[arg(long)]
        quick: bool,
        /// Timed runs per measurement.
        #[arg(long, default_value_t = 7)]
        runs: usize,
    },
    /// Run a pipeline file: its stages in order, each from the previous stage's checkpoint,
    /// one run per combination of swept values; a stopped run resumes where it stopped.
    Run(PipelineArgs),
    /// The AER report of a directory of pipeline runs: a table (accuracy, robustness,
    /// sparsity, bits, bytes, FLOPs, time) and plots, as Markdown, HTML, CSV and JSON.
    Report(ReportArgs),
    /// Import weights trained elsewhere (safetensors, PyTorch naming: fc1.weight, conv1.bias...,
    /// or an nn.Sequential state dict) into a checkpoint, and test it.
    Import(ImportArgs),
    /// Export a checkpoint's weights as plain safetensors (PyTorch naming, f32; packed ternary
    /// weights dequantized, pruned weights zero).
    Export(ExportArgs),
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

impl SplitArg {
    /// The split's name and examples.
    pub fn pick(self, splits: &crate::data::Splits) -> (&'static str, &crate::data::Dataset) {
        match self {
            SplitArg::Val => ("validation", &splits.val),
            SplitArg::Test => ("test", &splits.test),
        }
    }
}

#[derive(Args, Debug)]
pub struct DataArgs {
    /// Data directory: MNIST-style IDX files (raw or .gz) or CIFAR-10 binary batches.
    #[arg(long, default_value = crate::data::BUNDLED_MNIST)]
    pub data: PathBuf,
    /// Training images held out for validation (a fixed random choice).
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
    /// A TOML file with a [train] table (the settings below, optimizer and adversarial
    /// training included) and an [attack] table; flags given here override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// [default: 10]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// [default: 128]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// [default: adam]
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerArg>,
    /// Learning rate [default: 1e-3 for Adam, 0.05 for SGD].
    #[arg(long)]
    pub lr: Option<f32>,
    /// SGD momentum [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f32>,
    #[arg(long)]
    pub nesterov: bool,
    /// [default: 0]
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Decay weights directly (AdamW) instead of adding weight_decay * w to the gradient.
    #[arg(long)]
    pub decoupled: bool,
    /// [default: cosine]
    #[arg(long, value_enum)]
    pub schedule: Option<ScheduleArg>,
    /// [default: 0]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Directory for last.safetensors, best.safetensors and metrics.json
    /// (default: runs/<model>-s<seed>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from <out>/last.safetensors if it exists (same settings required).
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub adv: AdvArgs,
    #[command(flatten)]
    pub certify: CertifyArgs,
    /// Train ternary weights (quantization-aware training with a straight-through estimator
    /// over f32 latent weights): twn (Li & Liu 2016) or ttq (Zhu et al. 2017).
    #[arg(long, value_enum)]
    pub quant: Option<QuantArg>,
    /// One ternary scale per layer or per output channel [default: layer].
    #[arg(long, value_enum, requires = "quant")]
    pub quant_scales: Option<QuantScalesArg>,
    /// Which weight layers are ternary: all, or hidden (the first and last stay f32)
    /// [default: all].
    #[arg(long, value_enum, requires = "quant")]
    pub quant_layers: Option<QuantLayersArg>,
    /// BinaryRelax with --quant twn: train on the weights relaxed toward their ternary
    /// projection, lambda = 1 doubling every epoch (--relax-growth), exact for the last
    /// quarter of the epochs.
    #[arg(long, requires = "quant")]
    pub binary_relax: bool,
    /// BinaryRelax: lambda's growth factor per epoch [default: 2].
    #[arg(long, requires = "binary_relax")]
    pub relax_growth: Option<f32>,
    /// BinaryRelax: add mu times the sum of the output channels' weight norms to the loss
    /// (the channel-sparsity trade-off term) [default: 0].
    #[arg(long, requires = "binary_relax")]
    pub relax_channel_lasso: Option<f32>,
    /// Hyperspherical quantization with --quant twn: the first half of the epochs train in
    /// full precision with each output channel's weights on a hypersphere while each layer is
    /// pruned to this share (cubic schedule); the kept weights are then reinitialised to their
    /// ternary direction and the rest of the epochs train ternary.
    #[arg(long, requires = "quant", value_name = "SPARSITY")]
    pub hq: Option<f64>,
    /// HQ: the share of the epochs on the hypersphere [default: 0.5].
    #[arg(long, requires = "hq")]
    pub hq_sphere_fraction: Option<f64>,
    /// Start from this checkpoint's weights (same model), e.g. to prune a trained model and
    /// fine-tune it.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// Before the first epoch, prune this share of each layer's weight blocks (smallest mean
    /// square first; the mask then stays fixed), e.g. 0.9.
    #[arg(long)]
    pub block_sparsity: Option<f64>,
    /// Block size for --block-sparsity: 4, 8, 16 or 32 [default: 32].
    #[arg(long, requires = "block_sparsity")]
    pub block: Option<usize>,
    /// Prune the first and last weight layers too (by default they stay dense).
    #[arg(long, requires = "block_sparsity")]
    pub block_all_layers: bool,
    /// Before the first epoch, prune this share of each hidden layer's output channels
    /// (filters), smallest mean square first; the mask then stays fixed.
    #[arg(long)]
    pub channel_sparsity: Option<f64>,
    /// Before the first epoch, prune to N:M sparsity, e.g. 2:4 (in every 4 consecutive
    /// weights along a row the 2 largest stay).
    #[arg(long)]
    pub nm: Option<String>,
    /// Magnitude pruning while training, one threshold across layers: this share of the
    /// weights, reached along the cubic schedule over --prune-ramp-epochs.
    #[arg(long)]
    pub prune_sparsity: Option<f64>,
    /// Epochs over which the cubic schedule raises the sparsity (0: all before the first).
    #[arg(long, default_value_t = 0)]
    pub prune_ramp_epochs: usize,
    /// SNIP: before the first epoch, prune this share of the weights by connection
    /// sensitivity |gradient x weight| on one training batch (one threshold across layers).
    #[arg(long)]
    pub snip: Option<f64>,
    /// HYDRA: before the first epoch, prune this share of each layer's weights by learned
    /// scores (weights frozen, scores trained on the run's loss, adversarial with --adv, for
    /// --mask-epochs); the run's epochs then fine-tune under the mask.
    #[arg(long, conflicts_with = "hard_concrete")]
    pub hydra: Option<f64>,
    /// Hard-concrete gates with an L0 penalty: train gates and weights together for
    /// --mask-epochs, then keep the gates most likely open, pruning this share of the weights.
    #[arg(long)]
    pub hard_concrete: Option<f64>,
    /// Epochs of mask training for --hydra or --hard-concrete [default: 2].
    #[arg(long)]
    pub mask_epochs: Option<usize>,
    /// Learning rate of HYDRA's scores (SGD) or of the gates (Adam) [default: 0.1].
    #[arg(long)]
    pub mask_lr: Option<f32>,
    /// Hard concrete: weight of the expected share of open gates in the loss [default: 1].
    #[arg(long)]
    pub l0: Option<f32>,
    /// Prune by one ranking across layers instead of per layer (--hydra, --hard-concrete).
    #[arg(long)]
    pub mask_global: bool,
    /// Early-bird ticket: while training, draw the magnitude mask at this sparsity after every
    /// epoch, and prune to it once it has settled (normalised Hamming distance to the last 5
    /// below --early-bird-threshold); the remaining epochs train the ticket. With --adv it is
    /// the robust early-bird ticket.
    #[arg(long)]
    pub early_bird: Option<f64>,
    /// Mask distance below which the early-bird search stops [default: 0.1].
    #[arg(long, requires = "early_bird")]
    pub early_bird_threshold: Option<f64>,
    /// Draw the early-bird ticket after this many epochs even if unsettled [default: half the epochs].
    #[arg(long, requires = "early_bird")]
    pub early_bird_max_epochs: Option<usize>,
    /// Corruption-resistant training: take each step's gradient at weights moved this many
    /// times each layer's norm along it (adversarial weight perturbation), e.g. 0.01.
    #[arg(long)]
    pub weight_perturb: Option<f32>,
    /// Dynamic sparse training from scratch at this sparsity (share of all weights pruned),
    /// e.g. 0.9: random masks, then prune-and-regrow during training.
    #[arg(long)]
    pub dynamic_sparsity: Option<f64>,
    /// rigl (regrow where the gradient is largest) or set (at random) [default: rigl].
    #[arg(long, value_enum, requires = "dynamic_sparsity")]
    pub dynamic: Option<DynamicArg>,
    /// Layer densities: erk or uniform [default: erk].
    #[arg(long, value_enum, requires = "dynamic_sparsity")]
    pub dynamic_distribution: Option<DistributionArg>,
    /// Optimizer steps between mask updates [default: 100].
    #[arg(long, requires = "dynamic_sparsity")]
    pub dynamic_update_every: Option<usize>,
    /// Share of active weights moved at the first update, decaying with a cosine [default: 0.3].
    #[arg(long, requires = "dynamic_sparsity")]
    pub dynamic_drop_fraction: Option<f64>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum DynamicArg {
    Rigl,
    Set,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum DistributionArg {
    Erk,
    Uniform,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum QuantArg {
    Twn,
    Ttq,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum QuantScalesArg {
    Layer,
    Channel,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum QuantLayersArg {
    All,
    Hidden,
}

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A checkpoint of a quantized model (trained with --quant).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Where to write the packed checkpoint.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Also report the packed model's test accuracy with half-precision activations in its
    /// ternary layers (adapters with shader-f16).
    #[arg(long)]
    pub f16_activations: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum AdvMethodArg {
    Pgd,
    Trades,
    Fgsm,
}

/// Adversarial training (unset values take the defaults shown, Madry et al.'s for MNIST).
#[derive(Args, Debug, Default)]
pub struct AdvArgs {
    /// Train adversarially: pgd (Madry), trades, or fgsm (fast, random start, step 1.25 eps).
    #[arg(long, value_enum)]
    pub adv: Option<AdvMethodArg>,
    /// Threat model norm [default: linf].
    #[arg(long, value_enum)]
    pub adv_norm: Option<NormArg>,
    /// Radius [default: 0.3].
    #[arg(long)]
    pub adv_eps: Option<f32>,
    /// Attack step at full eps [default: 0.01].
    #[arg(long)]
    pub adv_step: Option<f32>,
    /// Attack steps [default: 40].
    #[arg(long)]
    pub adv_steps: Option<usize>,
    /// Start the training attack at the clean input instead of a random point.
    #[arg(long)]
    pub adv_no_random_start: bool,
    /// TRADES' KL weight [default: 6].
    #[arg(long)]
    pub trades_beta: Option<f32>,
    /// Raise eps linearly from 0 over this many epochs [default: 0].
    #[arg(long)]
    pub adv_ramp_epochs: Option<usize>,
    /// Fraction of each batch trained adversarially [default: 1].
    #[arg(long)]
    pub adv_share: Option<f32>,
    /// Give weaker classes (lower robust training accuracy) more adversarial examples.
    #[arg(long)]
    pub adv_balance: bool,
    /// Validation images attacked after each epoch [default: 256].
    #[arg(long)]
    pub adv_val_examples: Option<usize>,
}

/// Certified training with interval bounds (unset values take the defaults shown).
#[derive(Args, Debug, Default)]
pub struct CertifyArgs {
    /// Train for verified robustness at this L-inf radius (interval bound propagation,
    /// Gowal et al. 2018): clean and worst-case cross-entropy mixed.
    #[arg(long)]
    pub certify: Option<f32>,
    /// Clean epochs before the ramp [default: 1].
    #[arg(long, requires = "certify")]
    pub certify_warmup_epochs: Option<usize>,
    /// Epochs over which eps rises from 0 and the clean weight falls [default: 6].
    #[arg(long, requires = "certify")]
    pub certify_ramp_epochs: Option<usize>,
    /// The clean loss's final weight kappa [default: 0.5].
    #[arg(long, requires = "certify")]
    pub certify_kappa_end: Option<f32>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum NormArg {
    Linf,
    L2,
}

/// The attacks of `aer attack`, by name.
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum AttackArg {
    Fgsm,
    Pgd,
    PgdT,
    ApgdCe,
    ApgdDlr,
    ApgdT,
}

#[derive(Args, Debug)]
pub struct AttackArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to attack (.safetensors written by `aer train`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Also evaluate the adversarial examples on this checkpoint (a transfer attack).
    #[arg(long)]
    pub transfer_to: Option<PathBuf>,
    /// A TOML file whose [attack] table sets the values below; flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Attack the first N test examples [default: all].
    #[arg(long)]
    pub n: Option<usize>,
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Attacks to run, comma-separated [default: fgsm,pgd,apgd-ce,apgd-dlr].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub attacks: Option<Vec<AttackArg>>,
    /// [default: linf]
    #[arg(long, value_enum)]
    pub norm: Option<NormArg>,
    /// Radius [default: 0.3 for 1-channel inputs, 8/255 for colour; L2: 2.0, 0.5].
    #[arg(long)]
    pub eps: Option<f32>,
    /// PGD step [default: 0.01 for 1-channel inputs, 2/255 for colour, scaled with eps].
    #[arg(long)]
    pub step: Option<f32>,
    /// PGD steps [default: 40 for 1-channel inputs, 10 for colour].
    #[arg(long)]
    pub steps: Option<usize>,
    /// Random restarts per attack [default: 1].
    #[arg(long)]
    pub restarts: Option<usize>,
    /// APGD iterations [default: 100].
    #[arg(long)]
    pub apgd_steps: Option<usize>,
    /// Radii of the robustness curve, comma-separated [default: 0 to 1.5 eps in 8 steps, and
    /// the whole input range]; `--curve` with no value skips the curve.
    #[arg(long, value_delimiter = ',', num_args = 0..)]
    pub curve: Option<Vec<f32>>,
    /// Examples on the curve, spread evenly over the attacked ones [default: 500].
    #[arg(long)]
    pub curve_n: Option<usize>,
    /// Examples whose minimal adversarial distance is estimated by bisection, spread evenly
    /// over the attacked ones [default: 500]; 0 skips it.
    #[arg(long)]
    pub distance_n: Option<usize>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Directory for robustness.json, examples.safetensors and examples.png
    /// [default: next to the checkpoint, <name>-attack/].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to verify (.safetensors written by `aer train`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Verify the first N examples of the split [default: all].
    #[arg(long)]
    pub n: Option<usize>,
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// L-inf radii, comma-separated (several give a verified-accuracy curve).
    #[arg(long, value_delimiter = ',', default_value = "0.1")]
    pub eps: Vec<f32>,
    /// Steps of the PGD attack run beside the bounds (0 skips it).
    #[arg(long, default_value_t = 40)]
    pub pgd_steps: usize,
    /// PGD step [default: 2.5 eps / steps].
    #[arg(long)]
    pub pgd_step: Option<f32>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Where to write the results [default: next to the checkpoint, <name>-verify.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CorruptArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to corrupt (.safetensors written by `aer train`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Measure on the first N examples of the split (one batch).
    #[arg(long, default_value_t = 256)]
    pub n: usize,
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// l2: radius rho times the clean weights' norm; linf: rho times each layer's RMS weight.
    #[arg(long, value_enum, default_value_t = NormArg::L2)]
    pub norm: NormArg,
    /// Relative radii, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.05")]
    pub rho: Vec<f32>,
    /// Gradient ascent steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Random perturbations for comparison.
    #[arg(long, default_value_t = 10)]
    pub random: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the results [default: next to the checkpoint, <name>-corrupt.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum StorageArg {
    F32,
    F16,
    Ternary,
}

#[derive(Args, Debug)]
pub struct FaultsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Checkpoint to inject faults into (a packed one from `aer quantize` for ternary storage).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Evaluate on the first N examples of the split.
    #[arg(long, default_value_t = 500)]
    pub n: usize,
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Storage formats whose bits flip, comma-separated [default: ternary for a packed
    /// checkpoint, else f32,f16].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub storage: Option<Vec<StorageArg>>,
    /// Per-bit flip probabilities, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,1e-7,1e-6,1e-5,1e-4,1e-3")]
    pub rates: Vec<f64>,
    /// Fault patterns per rate.
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Multipliers, comma-separated: exact, trunc:<bits> (low product bits dropped) or a
    /// product-table file (see assets/multipliers); `--multipliers` with no value skips them.
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "exact,trunc:4,trunc:6,trunc:8,trunc:10")]
    pub multipliers: Vec<String>,
    /// L-inf radius of the PGD attack run at every point (0 skips it).
    #[arg(long, default_value_t = 0.1)]
    pub eps: f32,
    #[arg(long, default_value_t = 10)]
    pub pgd_steps: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Where to write the results [default: next to the checkpoint, <name>-faults.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The architecture: a preset (mlp, cnn) or a TOML model file.
    #[arg(long, default_value = "mlp")]
    pub model: String,
    /// The safetensors file of weights.
    #[arg(long)]
    pub weights: PathBuf,
    /// The checkpoint to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct PipelineArgs {
    /// The pipeline file (TOML); presets are in assets/pipelines/.
    pub file: PathBuf,
    /// Directory of the runs [default: runs/<pipeline name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A directory `aer run` wrote (searched for run summaries, at any depth).
    pub dir: PathBuf,
    /// Where the report goes [default: DIR/report].
    #[arg(long)]
    pub out: Option<PathBuf>,
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
    /// Also print the mask distance to this checkpoint of the same model: per weight tensor
    /// and overall, the share of weights one keeps and the other prunes.
    #[arg(long)]
    pub mask_distance: Option<PathBuf>,
    /// A packed checkpoint's ternary layers read and write half-precision activations
    /// (adapters with shader-f16).
    #[arg(long)]
    pub f16_activations: bool,
    /// Weight layers after a winners-take-all layer compute with every input channel (the
    /// dropped ones are zero) instead of skipping the dropped ones: to compare the two.
    #[arg(long)]
    pub all_channels: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum ScopeArg {
    Layer,
    Global,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// Pruning rounds after the dense run [default: 15].
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Fraction of the remaining weights pruned per round [default: 0.2].
    #[arg(long)]
    pub rate: Option<f64>,
    /// One magnitude threshold across layers, or the same fraction per layer [default: global].
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,
    /// Rewind survivors to the weights after this many dense epochs; 0 means the initial
    /// weights [default: 0].
    #[arg(long)]
    pub rewind_epoch: Option<usize>,
    /// Cyclic overlapping lottery tickets (COLT): each round trains the ticket on this many
    /// disjoint shares of the training data and keeps only the weights all their masks keep.
    #[arg(long)]
    pub colt_parts: Option<usize>,
}
