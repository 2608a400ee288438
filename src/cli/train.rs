//! `aer train`: its flags, the training configuration they make, and the run.

use super::common::{load_data, load_run_file, open};
use super::options::{at_least_one, DataArgs, GpuArgs};
use super::progress::fit;
use crate::kernels::Norm;
use crate::nn::quant::{QuantLayers, QuantSpec, ScaleGranularity, TernaryMethod};
use crate::nn::ModelSpec;
use crate::attack::{AdvMethod, AdvTrainConfig};
use crate::methods::augment::Augment;
use crate::methods::augmix::Augmix;
use crate::data::Splits;
use crate::train::{FitOptions, FitResult, LrSchedule, OptimizerKind, TrainConfig};
use crate::verify::CertifiedConfig;
use crate::{AerError, Result};
use clap::Args;
use std::path::PathBuf;

/// `aer train`'s flags: the training flags (which `aer prune` and `aer watermark embed` share)
/// and the GPU's.
#[derive(Args, Debug)]
pub struct TrainCmd {
    #[command(flatten)]
    pub train: TrainArgs,
    #[command(flatten)]
    pub gpu: GpuArgs,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// A preset (mlp, cnn, smallcnn, madry, resnet20, preact-resnet18, wrn-28-10) or a TOML model file.
    #[arg(help_heading = "Model", long, default_value = "mlp")]
    pub model: String,
    /// A TOML file with a [train] table (the settings below, optimizer and adversarial
    /// training included) and an [attack] table; flags given here override it.
    #[arg(help_heading = "Run", long)]
    pub config: Option<PathBuf>,
    /// Epochs to train [default: 10].
    #[arg(help_heading = "Optimizer", long, value_parser = at_least_one)]
    pub epochs: Option<usize>,
    /// Examples per training step [default: 128].
    #[arg(help_heading = "Optimizer", long, value_parser = at_least_one)]
    pub batch_size: Option<usize>,
    /// The optimizer [default: adam].
    #[arg(help_heading = "Optimizer", long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate [default: 1e-3 for Adam, 0.05 for SGD].
    #[arg(help_heading = "Optimizer", long)]
    pub lr: Option<f32>,
    /// SGD momentum [default: 0.9].
    #[arg(help_heading = "Optimizer", long)]
    pub momentum: Option<f32>,
    /// SGD with Nesterov momentum.
    #[arg(help_heading = "Optimizer", long)]
    pub nesterov: bool,
    /// Weight decay (L2 penalty coefficient) [default: 0].
    #[arg(help_heading = "Optimizer", long)]
    pub weight_decay: Option<f32>,
    /// Decay weights directly (AdamW) instead of adding weight_decay * w to the gradient.
    #[arg(help_heading = "Optimizer", long)]
    pub decoupled: bool,
    /// Learning-rate schedule [default: cosine]; piecewise: the learning rate times --lr-factor after each of
    /// --milestones epochs.
    #[arg(help_heading = "Optimizer", long, value_enum)]
    pub schedule: Option<LrSchedule>,
    /// Piecewise schedule: epochs after which the learning rate drops, e.g. 100,150.
    #[arg(help_heading = "Optimizer", long, value_delimiter = ',')]
    pub milestones: Option<Vec<usize>>,
    /// Piecewise schedule: the factor at each milestone [default: 0.1].
    #[arg(help_heading = "Optimizer", long)]
    pub lr_factor: Option<f32>,
    /// Random crop with zero padding: shift each training image by up to N pixels each way
    /// (4 for CIFAR's RandomCrop(32, padding=4)).
    #[arg(help_heading = "Data", long, value_name = "N")]
    pub augment_crop: Option<usize>,
    /// Mirror each training image left to right with probability 1/2.
    #[arg(help_heading = "Data", long)]
    pub augment_flip: bool,
    /// AugMix: train on mixtures of random chains of tone (and, on colour images, geometric)
    /// operations, with [train.augmix]'s settings or AugMix's defaults (3 chains, severity 3).
    #[arg(help_heading = "Data", long)]
    pub augmix: bool,
    /// Seed of the initialisation, the data order and the training attacks [default: 0].
    #[arg(help_heading = "Optimizer", long)]
    pub seed: Option<u64>,
    /// Directory for last.safetensors, best.safetensors and metrics.json
    /// (default: runs/<model>-s<seed>).
    #[arg(help_heading = "Run", long)]
    pub out: Option<PathBuf>,
    /// Continue from <out>/last.safetensors if it exists (same settings required).
    #[arg(help_heading = "Run", long)]
    pub resume: bool,
    #[command(flatten)]
    pub adv: AdvArgs,
    #[command(flatten)]
    pub certify: CertifyArgs,
    /// Train ternary weights (quantization-aware training with a straight-through estimator
    /// over f32 latent weights): twn (Li & Liu 2016) or ttq (Zhu et al. 2017).
    #[arg(help_heading = "Quantization", long, value_enum)]
    pub quant: Option<TernaryMethod>,
    /// One ternary scale per layer or per output channel [default: layer].
    #[arg(help_heading = "Quantization", long, value_enum, requires = "quant")]
    pub quant_scales: Option<ScaleGranularity>,
    /// Which weight layers are ternary: all, or hidden (the first and last stay f32)
    /// [default: all].
    #[arg(help_heading = "Quantization", long, value_enum, requires = "quant")]
    pub quant_layers: Option<QuantLayers>,
    /// BinaryRelax with --quant twn: train on the weights relaxed toward their ternary
    /// projection, lambda = 1 doubling every epoch (--relax-growth), exact for the last
    /// quarter of the epochs.
    #[arg(help_heading = "Quantization", long, requires = "quant")]
    pub binary_relax: bool,
    /// BinaryRelax: lambda's growth factor per epoch [default: 2].
    #[arg(help_heading = "Quantization", long, requires = "binary_relax")]
    pub relax_growth: Option<f32>,
    /// BinaryRelax: add mu times the sum of the output channels' weight norms to the loss
    /// (the channel-sparsity trade-off term) [default: 0].
    #[arg(help_heading = "Quantization", long, requires = "binary_relax")]
    pub relax_channel_lasso: Option<f32>,
    /// Hyperspherical quantization with --quant twn: the first half of the epochs train in
    /// full precision with each output channel's weights on a hypersphere while each layer is
    /// pruned to this share (cubic schedule); the kept weights are then reinitialised to their
    /// ternary direction and the rest of the epochs train ternary.
    #[arg(help_heading = "Quantization", long, requires = "quant", value_name = "SPARSITY")]
    pub hq: Option<f64>,
    /// HQ: the share of the epochs on the hypersphere [default: 0.5].
    #[arg(help_heading = "Quantization", long, requires = "hq")]
    pub hq_sphere_fraction: Option<f64>,
    /// Start from this checkpoint's weights (same model), e.g. to prune a trained model and
    /// fine-tune it.
    #[arg(help_heading = "Model", long)]
    pub init: Option<PathBuf>,
    /// Before the first epoch, prune this share of each layer's weight blocks (smallest mean
    /// square first; the mask then stays fixed), e.g. 0.9.
    #[arg(help_heading = "Pruning", long)]
    pub block_sparsity: Option<f64>,
    /// Block size for --block-sparsity: 4, 8, 16 or 32 [default: 32].
    #[arg(help_heading = "Pruning", long, requires = "block_sparsity")]
    pub block: Option<usize>,
    /// Prune the first and last weight layers too (by default they stay dense).
    #[arg(help_heading = "Pruning", long, requires = "block_sparsity")]
    pub block_all_layers: bool,
    /// Before the first epoch, prune this share of each hidden layer's output channels
    /// (filters), smallest mean square first; the mask then stays fixed.
    #[arg(help_heading = "Pruning", long)]
    pub channel_sparsity: Option<f64>,
    /// Before the first epoch, prune to N:M sparsity, e.g. 2:4 (in every 4 consecutive
    /// weights along a row the 2 largest stay).
    #[arg(help_heading = "Pruning", long)]
    pub nm: Option<String>,
    /// Magnitude pruning while training, one threshold across layers: this share of the
    /// weights, reached along the cubic schedule over --prune-ramp-epochs.
    #[arg(help_heading = "Pruning", long)]
    pub prune_sparsity: Option<f64>,
    /// Epochs over which the cubic schedule raises the sparsity (0: all before the first).
    #[arg(help_heading = "Pruning", long, default_value_t = 0)]
    pub prune_ramp_epochs: usize,
    /// SNIP: before the first epoch, prune this share of the weights by connection
    /// sensitivity |gradient x weight| on one training batch (one threshold across layers).
    #[arg(help_heading = "Pruning", long)]
    pub snip: Option<f64>,
    /// HYDRA: before the first epoch, prune this share of each layer's weights by learned
    /// scores (weights frozen, scores trained on the run's loss, adversarial with --adv, for
    /// --mask-epochs); the run's epochs then fine-tune under the mask.
    #[arg(help_heading = "Pruning", long, conflicts_with = "hard_concrete")]
    pub hydra: Option<f64>,
    /// Hard-concrete gates with an L0 penalty: train gates and weights together for
    /// --mask-epochs, then keep the gates most likely open, pruning this share of the weights.
    #[arg(help_heading = "Pruning", long)]
    pub hard_concrete: Option<f64>,
    /// Epochs of mask training for --hydra or --hard-concrete [default: 2].
    #[arg(help_heading = "Pruning", long)]
    pub mask_epochs: Option<usize>,
    /// Learning rate of HYDRA's scores (SGD) or of the gates (Adam) [default: 0.1].
    #[arg(help_heading = "Pruning", long)]
    pub mask_lr: Option<f32>,
    /// Hard concrete: weight of the expected share of open gates in the loss [default: 1].
    #[arg(help_heading = "Pruning", long)]
    pub l0: Option<f32>,
    /// Prune by one ranking across layers instead of per layer (--hydra, --hard-concrete).
    #[arg(help_heading = "Pruning", long)]
    pub mask_global: bool,
    /// Early-bird ticket: while training, draw the magnitude mask at this sparsity after every
    /// epoch, and prune to it once it has settled (normalised Hamming distance to the last 5
    /// below --early-bird-threshold); the remaining epochs train the ticket. With --adv it is
    /// the robust early-bird ticket.
    #[arg(help_heading = "Pruning", long)]
    pub early_bird: Option<f64>,
    /// Mask distance below which the early-bird search stops [default: 0.1].
    #[arg(help_heading = "Pruning", long, requires = "early_bird")]
    pub early_bird_threshold: Option<f64>,
    /// Draw the early-bird ticket after this many epochs even if unsettled [default: half the epochs].
    #[arg(help_heading = "Pruning", long, requires = "early_bird")]
    pub early_bird_max_epochs: Option<usize>,
    /// Corruption-resistant training: take each step's gradient at weights moved this many
    /// times each layer's norm along it (adversarial weight perturbation), e.g. 0.01.
    #[arg(help_heading = "Robustness", long)]
    pub weight_perturb: Option<f32>,
    /// Similarity-unpairing: fine-tune this sibling (--init it) with its loss plus
    /// --unpair-weight times the mean squared cosine between its input gradients and those of
    /// this full model (docs/siblings.md).
    #[arg(long, value_name = "CHECKPOINT")]
    pub unpair_full: Option<PathBuf>,
    /// Similarity-unpairing: the penalty's weight [default: 1].
    #[arg(long, requires = "unpair_full")]
    pub unpair_weight: Option<f32>,
    /// Similarity-unpairing: the finite-difference step along the input [default: 0.01].
    #[arg(long, requires = "unpair_full")]
    pub unpair_h: Option<f32>,
    /// Dynamic sparse training from scratch at this sparsity (share of all weights pruned),
    /// e.g. 0.9: random masks, then prune-and-regrow during training.
    #[arg(help_heading = "Pruning", long)]
    pub dynamic_sparsity: Option<f64>,
    /// rigl (regrow where the gradient is largest) or set (at random) [default: rigl].
    #[arg(help_heading = "Pruning", long, value_enum, requires = "dynamic_sparsity")]
    pub dynamic: Option<crate::sparse::DynamicMethod>,
    /// Layer densities: erk or uniform [default: erk].
    #[arg(help_heading = "Pruning", long, value_enum, requires = "dynamic_sparsity")]
    pub dynamic_distribution: Option<crate::sparse::Distribution>,
    /// Optimizer steps between mask updates [default: 100].
    #[arg(help_heading = "Pruning", long, requires = "dynamic_sparsity")]
    pub dynamic_update_every: Option<usize>,
    /// Share of active weights moved at the first update, decaying with a cosine [default: 0.3].
    #[arg(help_heading = "Pruning", long, requires = "dynamic_sparsity")]
    pub dynamic_drop_fraction: Option<f64>,
}

/// Adversarial training (unset values take the defaults shown, which follow the data).
#[derive(Args, Debug, Default)]
pub struct AdvArgs {
    /// Train adversarially: pgd (Madry), trades, or fgsm (fast, random start, step 1.25 eps).
    #[arg(help_heading = "Adversarial training", long, value_enum)]
    pub adv: Option<AdvMethod>,
    /// Threat model norm [default: linf].
    #[arg(help_heading = "Adversarial training", long, value_enum)]
    pub adv_norm: Option<Norm>,
    /// Radius, a number or a fraction such as 8/255 [default: 0.3 for grey-scale images, 8/255
    /// for colour ones, as `aer attack`].
    #[arg(help_heading = "Adversarial training", long, value_parser = super::options::radius)]
    pub adv_eps: Option<f32>,
    /// Attack step at full eps [default: 0.01 grey-scale, 2/255 colour].
    #[arg(help_heading = "Adversarial training", long, value_parser = super::options::radius)]
    pub adv_step: Option<f32>,
    /// Attack steps [default: 40 grey-scale, 10 colour].
    #[arg(help_heading = "Adversarial training", long)]
    pub adv_steps: Option<usize>,
    /// Start the training attack at the clean input instead of a random point.
    #[arg(help_heading = "Adversarial training", long)]
    pub adv_no_random_start: bool,
    /// TRADES' KL weight [default: 6].
    #[arg(help_heading = "Adversarial training", long)]
    pub trades_beta: Option<f32>,
    /// Raise eps linearly from 0 over this many epochs [default: 0].
    #[arg(help_heading = "Adversarial training", long)]
    pub adv_ramp_epochs: Option<usize>,
    /// Fraction of each batch trained adversarially [default: 1].
    #[arg(help_heading = "Adversarial training", long)]
    pub adv_share: Option<f32>,
    /// Give weaker classes (lower robust training accuracy) more adversarial examples.
    #[arg(help_heading = "Adversarial training", long)]
    pub adv_balance: bool,
    /// Validation images attacked after each epoch [default: 256].
    #[arg(help_heading = "Adversarial training", long)]
    pub adv_val_examples: Option<usize>,
}

/// Certified training with interval bounds (unset values take the defaults shown).
#[derive(Args, Debug, Default)]
pub struct CertifyArgs {
    /// Train for verified robustness at this L-inf radius (interval bound propagation,
    /// Gowal et al. 2018): clean and worst-case cross-entropy mixed.
    #[arg(help_heading = "Certified training", long)]
    pub certify: Option<f32>,
    /// Clean epochs before the ramp [default: 1].
    #[arg(help_heading = "Certified training", long, requires = "certify")]
    pub certify_warmup_epochs: Option<usize>,
    /// Epochs over which eps rises from 0 and the clean weight falls [default: 6].
    #[arg(help_heading = "Certified training", long, requires = "certify")]
    pub certify_ramp_epochs: Option<usize>,
    /// The clean loss's final weight kappa [default: 0.5].
    #[arg(help_heading = "Certified training", long, requires = "certify")]
    pub certify_kappa_end: Option<f32>,
}

pub fn run(gpu_args: &GpuArgs, args: &TrainCmd) -> Result<()> {
    train_with(gpu_args, &args.train, |_| Ok(())).map(|_| ())
}

/// A run as `aer train` makes it, with `extra` (a command's own training method) applied to
/// its config; what it trained on and where it wrote, beside the result.
pub fn train_with(gpu_args: &GpuArgs, args: &TrainArgs, extra: impl FnOnce(&mut TrainConfig) -> Result<()>) -> Result<(FitResult, Splits, PathBuf)> {
    let gpu = open(&gpu_args.choice())?;
    let splits = load_data(&args.data)?;
    let spec = model_spec(args)?;
    let mut cfg = train_config(args, load_run_file(args.config.as_deref())?.train)?;
    extra(&mut cfg)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{}-s{}", spec.name, cfg.seed)));
    if let Some(sparsity) = args.block_sparsity {
        if !(0.0..1.0).contains(&sparsity) {
            return Err(AerError::Invalid(format!("--block-sparsity {sparsity}: give the share of blocks to prune, from 0 up to (not including) 1")));
        }
        let block = args.block.unwrap_or(32);
        if !crate::kernels::BSR_BLOCKS.contains(&block) {
            return Err(AerError::Invalid(format!("--block {block}: block sizes are {:?}", crate::kernels::BSR_BLOCKS)));
        }
        cfg.set(&crate::sparse::BlockPruneConfig { sparsity, block, scope: crate::sparse::Scope::Layer, hidden_only: !args.block_all_layers });
    }
    let opts = FitOptions { resume: args.resume, init: args.init.clone(), dense_kernels: gpu_args.dense_kernels };
    let r = fit(&gpu, &splits, &spec, &cfg, &out, &opts)?;
    Ok((r, splits, out))
}

/// The model to train: the preset or file, with the --quant flags applied.
pub fn model_spec(a: &TrainArgs) -> Result<ModelSpec> {
    let mut spec = ModelSpec::load(&a.model)?;
    if let Some(m) = a.quant {
        let mut q = QuantSpec::new(m);
        if let Some(s) = a.quant_scales {
            q.scales = s;
        }
        if let Some(l) = a.quant_layers {
            q.layers = l;
        }
        spec.quant = Some(q);
    }
    Ok(spec)
}

pub fn train_config(a: &TrainArgs, file: Option<TrainConfig>) -> Result<TrainConfig> {
    let mut cfg = file.unwrap_or_default();
    let o = &mut cfg.optimizer;
    if let Some(kind) = a.optimizer {
        o.kind = kind;
        // A new optimizer without a learning rate gets that optimizer's default.
        o.lr = if o.kind == OptimizerKind::Sgd { 0.05 } else { 1e-3 };
    }
    if let Some(v) = a.lr { o.lr = v; }
    if let Some(v) = a.momentum { o.momentum = v; }
    if a.nesterov { o.nesterov = true; }
    if let Some(v) = a.weight_decay { o.weight_decay = v; }
    if a.decoupled { o.decoupled = true; }
    if let Some(v) = a.epochs { cfg.epochs = v; }
    if let Some(v) = a.batch_size { cfg.batch_size = v; }
    if let Some(v) = a.seed { cfg.seed = v; }
    if let Some(s) = a.schedule {
        cfg.schedule = s;
    }
    if let Some(m) = &a.milestones { cfg.milestones = m.clone(); }
    if let Some(f) = a.lr_factor { cfg.lr_factor = f; }
    cfg.check_schedule()?;
    if a.augment_crop.is_some() || a.augment_flip {
        let mut g = cfg.method::<Augment>()?.unwrap_or_default();
        if let Some(c) = a.augment_crop { g.crop = c; }
        if a.augment_flip { g.flip = true; }
        cfg.set(&g);
    }
    if a.augmix && !cfg.has("augmix") {
        cfg.set(&Augmix::default());
    }
    let v = &a.adv;
    let any_adv_flag = v.adv_norm.is_some() || v.adv_eps.is_some() || v.adv_step.is_some() || v.adv_steps.is_some() || v.adv_no_random_start
        || v.trades_beta.is_some() || v.adv_ramp_epochs.is_some() || v.adv_share.is_some() || v.adv_balance || v.adv_val_examples.is_some();
    // Only the settings given go into the table: the rest follow the data when training
    // starts (`attack::adv_data_defaults`: 8/255 for colour images, 0.3 for grey-scale).
    match cfg.methods.get("adv").cloned() {
        None if v.adv.is_none() && any_adv_flag => return Err(AerError::Invalid("--adv-* settings need --adv pgd|trades|fgsm (or a [train.adv] table)".into())),
        None if v.adv.is_none() => {}
        table => {
            let mut t = match table {
                Some(serde_json::Value::Object(t)) => t,
                _ => Default::default(),
            };
            use crate::files::to_json_value;
            let mut put = |k: &str, x: serde_json::Value| {
                t.insert(k.to_string(), x);
            };
            if let Some(m) = v.adv { put("method", to_json_value(&m)); }
            if let Some(n) = v.adv_norm { put("norm", to_json_value(&n)); }
            if let Some(x) = v.adv_eps { put("eps", to_json_value(&x)); }
            if let Some(x) = v.adv_step { put("step", to_json_value(&x)); }
            if let Some(x) = v.adv_steps { put("steps", to_json_value(&x)); }
            if v.adv_no_random_start { put("random_start", false.into()); }
            if let Some(x) = v.trades_beta { put("beta", to_json_value(&x)); }
            if let Some(x) = v.adv_ramp_epochs { put("ramp_epochs", to_json_value(&x)); }
            if let Some(x) = v.adv_share { put("share", to_json_value(&x)); }
            if v.adv_balance { put("balance", true.into()); }
            if let Some(x) = v.adv_val_examples { put("val_examples", to_json_value(&x)); }
            cfg.methods.insert("adv".into(), serde_json::Value::Object(t));
            // Read and checked now (the left-out radius as for grey-scale data): a misspelt
            // key or a bad value is refused before the data loads.
            if let Some(adv) = cfg.method::<AdvTrainConfig>()? {
                adv.check()?;
            }
        }
    }
    let c = &a.certify;
    let mut certify = cfg.method::<CertifiedConfig>()?;
    if let Some(eps) = c.certify {
        certify.get_or_insert_with(Default::default).eps = eps;
    }
    if let Some(cc) = certify.as_mut() {
        if let Some(v) = c.certify_warmup_epochs { cc.warmup_epochs = v; }
        if let Some(v) = c.certify_ramp_epochs { cc.ramp_epochs = v; }
        if let Some(v) = c.certify_kappa_end { cc.kappa_end = v; }
        cc.check()?;
        cfg.set(&*cc);
        if cfg.has("adv") {
            return Err(AerError::Invalid("certified training (--certify) and adversarial training (--adv) are separate losses; choose one".into()));
        }
    }
    let structured = match (a.channel_sparsity, &a.nm) {
        (Some(_), Some(_)) => return Err(AerError::Invalid("--channel-sparsity and --nm are two structures; choose one".into())),
        (Some(s), None) if !(0.0..1.0).contains(&s) => return Err(AerError::Invalid(format!("--channel-sparsity {s}: give the share of channels to prune, from 0 up to (not including) 1"))),
        (Some(sparsity), None) => Some(crate::sparse::StructuredPrune::Channels { sparsity }),
        (None, Some(nm)) => {
            let parsed = nm.split_once(':').and_then(|(n, m)| Some((n.parse::<usize>().ok()?, m.parse::<usize>().ok()?)));
            match parsed {
                Some((keep, group)) if keep >= 1 && keep <= group => Some(crate::sparse::StructuredPrune::Nm { keep, group }),
                _ => return Err(AerError::Invalid(format!("--nm {nm}: give N:M with 1 <= N <= M, e.g. 2:4"))),
            }
        }
        (None, None) => None,
    };
    if let Some(s) = &structured {
        cfg.set(s);
    }
    if let Some(rho) = a.weight_perturb {
        if !(rho.is_finite() && rho >= 0.0) {
            return Err(AerError::Invalid(format!("--weight-perturb {rho}: give the radius relative to each layer's norm, e.g. 0.01")));
        }
        cfg.set(&crate::faults::WeightPerturbConfig { rho });
    }
    let mut unpair = cfg.method::<crate::attack::UnpairConfig>()?;
    if let Some(full) = &a.unpair_full {
        unpair.get_or_insert_with(Default::default).full = full.clone();
    }
    if let Some(u) = unpair.as_mut() {
        u.weight = a.unpair_weight.unwrap_or(u.weight);
        u.h = a.unpair_h.unwrap_or(u.h);
        cfg.set(u);
    }
    let mut dynamic = cfg.method::<crate::sparse::DynamicSparseConfig>()?;
    if let Some(sparsity) = a.dynamic_sparsity {
        dynamic.get_or_insert_with(Default::default).sparsity = sparsity;
    }
    if let Some(d) = dynamic.as_mut() {
        if let Some(m) = a.dynamic {
            d.method = m;
        }
        if let Some(v) = a.dynamic_distribution {
            d.distribution = v;
        }
        if let Some(v) = a.dynamic_update_every { d.update_every = v; }
        if let Some(v) = a.dynamic_drop_fraction { d.drop_fraction = v; }
        d.check()?;
        cfg.set(&*d);
        if a.block_sparsity.is_some() || cfg.has("block_prune") || cfg.has("structured_prune") {
            return Err(AerError::Invalid("dynamic sparse training (--dynamic-sparsity) makes its own masks; drop --block-sparsity, --channel-sparsity and --nm".into()));
        }
    }
    if let Some(sparsity) = a.prune_sparsity {
        cfg.set(&crate::sparse::GradualPrune { sparsity, ramp_epochs: a.prune_ramp_epochs, scope: crate::sparse::Scope::Global });
    }
    if let Some(sparsity) = a.snip {
        if !(0.0..1.0).contains(&sparsity) {
            return Err(AerError::Invalid(format!("--snip {sparsity}: give the share of weights to prune at initialisation, from 0 up to (not including) 1")));
        }
        cfg.set(&crate::sparse::SnipConfig { sparsity, batches: 1, scope: crate::sparse::Scope::Global });
    }
    let learned = [(a.hydra, crate::sparse::LearnedMethod::Hydra), (a.hard_concrete, crate::sparse::LearnedMethod::HardConcrete)];
    if let Some((sparsity, method)) = learned.iter().find_map(|(s, m)| s.map(|s| (s, *m))) {
        let d = crate::sparse::LearnedMaskConfig::default();
        let lm = crate::sparse::LearnedMaskConfig {
            method,
            sparsity,
            scope: if a.mask_global { crate::sparse::Scope::Global } else { crate::sparse::Scope::Layer },
            epochs: a.mask_epochs.unwrap_or(d.epochs),
            lr: a.mask_lr.unwrap_or(d.lr),
            l0: a.l0.unwrap_or(d.l0),
            ..d
        };
        lm.check()?;
        cfg.set(&lm);
    } else if a.mask_epochs.is_some() || a.mask_lr.is_some() || a.l0.is_some() || a.mask_global {
        return Err(AerError::Invalid("--mask-epochs, --mask-lr, --l0 and --mask-global set up a learned mask; add --hydra S or --hard-concrete S".into()));
    }
    if cfg.has("learned_mask") && (cfg.has("dynamic") || cfg.has("prune") || cfg.has("snip") || a.quant.is_some()) {
        return Err(AerError::Invalid("--hydra and --hard-concrete make their own fixed mask; drop --dynamic-sparsity, --prune-sparsity, --snip and --quant".into()));
    }
    if a.binary_relax {
        if a.quant != Some(TernaryMethod::Twn) {
            return Err(AerError::Invalid("--binary-relax relaxes toward TWN's projection; use it with --quant twn".into()));
        }
        let d = crate::quant::RelaxConfig::default();
        cfg.set(&crate::quant::RelaxConfig { growth: a.relax_growth.unwrap_or(d.growth), channel_sparsity: a.relax_channel_lasso.unwrap_or(d.channel_sparsity), ..d });
    }
    if let Some(r) = &cfg.method::<crate::quant::RelaxConfig>()? {
        r.check()?;
    }
    if let Some(sparsity) = a.hq {
        if a.quant != Some(TernaryMethod::Twn) {
            return Err(AerError::Invalid("--hq ends in TWN's ternary training; use it with --quant twn".into()));
        }
        let d = crate::quant::HqConfig::default();
        cfg.set(&crate::quant::HqConfig { sparsity, sphere_fraction: a.hq_sphere_fraction.unwrap_or(d.sphere_fraction) });
    }
    if let Some(h) = &cfg.method::<crate::quant::HqConfig>()? {
        h.check(cfg.epochs)?;
        if cfg.has("relax") || cfg.has("prune") || cfg.has("dynamic") || cfg.has("snip") || cfg.has("early_bird") {
            return Err(AerError::Invalid("--hq prunes on its own schedule; drop --binary-relax, --prune-sparsity, --dynamic-sparsity, --snip and --early-bird".into()));
        }
    }
    if let Some(sparsity) = a.early_bird {
        let d = crate::sparse::EarlyBirdConfig::default();
        cfg.set(&crate::sparse::EarlyBirdConfig {
            sparsity,
            threshold: a.early_bird_threshold.unwrap_or(d.threshold),
            max_epochs: a.early_bird_max_epochs.unwrap_or(cfg.epochs / 2),
            ..d
        });
    }
    if let Some(eb) = &cfg.method::<crate::sparse::EarlyBirdConfig>()? {
        eb.check(cfg.epochs)?;
        let others = ["learned_mask", "dynamic", "prune", "snip", "block_prune", "structured_prune"].iter().any(|k| cfg.has(k));
        if others {
            return Err(AerError::Invalid("--early-bird draws its own mask while training; drop the other pruning options".into()));
        }
    }
    if cfg.has("snip") && (cfg.has("dynamic") || cfg.has("prune")) {
        return Err(AerError::Invalid("--snip makes a fixed mask at initialisation; drop --dynamic-sparsity and --prune-sparsity".into()));
    }
    if let Some(p) = &cfg.method::<crate::sparse::GradualPrune>()? {
        p.check(cfg.epochs)?;
        if cfg.has("dynamic") {
            return Err(AerError::Invalid("--prune-sparsity prunes by magnitude while training and --dynamic-sparsity trains its own masks; choose one".into()));
        }
    }
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(AerError::Invalid(format!("epochs {} and batch_size {}: both must be at least 1 (--epochs, --batch-size, or [train] in the run file)", cfg.epochs, cfg.batch_size)));
    }
    Ok(cfg)
}
