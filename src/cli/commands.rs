//! What each subcommand does.

use crate::files::write_atomic;
use super::args::{AdvMethodArg, Cli, Command, DataArgs, EvalArgs, NormArg, OptimizerArg, ScheduleArg, TrainArgs};
use crate::attack::AttackSettings;
use crate::kernels::Norm;
use crate::attack::{AdvMethod, AdvTrainConfig};
use crate::verify::CertifiedConfig;
use super::progress::epoch_bar;
use crate::data::{load_dir, Splits};
use crate::gpu::{list_adapters, AdapterChoice, Gpu};
use crate::nn::{Model, ModelSpec};
use crate::train::{evaluate, Checkpoint, EpochRecord, FitEvent, FitOptions, FitResult, LrSchedule, OptimizerConfig, OptimizerKind, TrainConfig};
use crate::{AerError, Result};
use pollster::block_on;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub fn run(cli: Cli) -> Result<()> {
    let choice = AdapterChoice { name: cli.gpu.adapter.clone(), backend: cli.gpu.backend.clone() };
    match cli.command {
        Command::Adapters { json } => adapters(&choice, json),
        Command::Train(args) => {
            let gpu = open(&choice)?;
            let splits = load_data(&args.data)?;
            let spec = model_spec(&args)?;
            let cfg = train_config(&args, load_run_file(args.config.as_deref())?.train)?;
            let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{}-s{}", spec.name, cfg.seed)));
            let mut cfg = cfg;
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
            let opts = FitOptions { resume: args.resume, init: args.init.clone(), dense_kernels: cli.gpu.dense_kernels };
            fit(&gpu, &splits, &spec, &cfg, &out, &opts).map(|_| ())
        }
        Command::Eval(args) => eval(&choice, &args, cli.gpu.dense_kernels),
        Command::Attack(args) => super::attack::attack(&choice, &args, cli.gpu.dense_kernels),
        Command::Verify(args) => super::verify::verify(&choice, &args, cli.gpu.dense_kernels),
        Command::Corrupt(args) => super::verify::corrupt(&choice, &args, cli.gpu.dense_kernels),
        Command::Faults(args) => super::verify::faults(&choice, &args, cli.gpu.dense_kernels),
        Command::Tune { quick, runs } => tune(&choice, quick, runs),
        Command::Import(args) => import(&choice, &args),
        Command::Export(args) => export(&choice, &args),
        Command::Run(args) => super::pipeline::run(&choice, &args, cli.gpu.dense_kernels),
        Command::Report(args) => super::pipeline::report(&args),
        Command::Quantize(args) => quantize(&choice, &args),
        Command::Prune(args) => prune(&choice, &args),
        Command::Demo { epochs, out } => {
            let gpu = open(&choice)?;
            let splits = load_data(&DataArgs { data: PathBuf::from(crate::data::BUNDLED_MNIST), val_size: crate::data::VALIDATION_SIZE })?;
            let cfg = TrainConfig {
                epochs,
                batch_size: 128,
                seed: 0,
                // Chosen on the validation split among Adam and SGD settings (scripts/figures/demo-sweep.sh).
                optimizer: OptimizerConfig { kind: OptimizerKind::Sgd, lr: 0.1, momentum: 0.9, weight_decay: 5e-4, ..Default::default() },
                schedule: LrSchedule::Cosine,
                ..Default::default()
            };
            let t = Instant::now();
            let r = fit(&gpu, &splits, &ModelSpec::load("mlp")?, &cfg, &out, &FitOptions::default())?;
            println!("test accuracy: {:.1}%", 100.0 * r.test_accuracy);
            println!("time per epoch: {:.2} s (total {:.1} s)", r.seconds_per_epoch, t.elapsed().as_secs_f64());
            println!("adapter: {}", gpu.adapter_label());
            Ok(())
        }
    }
}

/// Move pruned layers to the block-sparse kernels where this adapter's crossover says they
/// are faster, and say which.
pub(super) fn block_sparse(gpu: &Gpu, model: &mut Model, dense_kernels: bool) -> Result<()> {
    block_on(crate::train::block_sparse(gpu, model, dense_kernels, &mut |ev| {
        if let FitEvent::Note(s) = ev {
            eprintln!("{s}")
        }
    }))
}

fn import(choice: &AdapterChoice, args: &super::args::ImportArgs) -> Result<()> {
    use crate::nn::interop::{match_tensors, read_tensors};
    let spec = ModelSpec::load(&args.model)?;
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
    };
    ck.save(&args.out)?;
    println!("imported {} tensors into model '{}': test accuracy {:.2}% on {}", expected.len(), spec.name, 100.0 * test.accuracy, splits.source);
    println!("wrote {}", args.out.display());
    Ok(())
}

fn export(choice: &AdapterChoice, args: &super::args::ExportArgs) -> Result<()> {
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

fn tune(choice: &AdapterChoice, quick: bool, runs: usize) -> Result<()> {
    let gpu = open(choice)?;
    let c = block_on(crate::bench::tune_crossover(&gpu, quick, runs, &mut |block, best, times| {
        let t: Vec<String> = times.iter().map(|(d, ms)| format!("{:.0}%: {ms:.2} ms", 100.0 * d)).collect();
        println!("blocks of {block:>2}: block-sparse up to {:.0}% kept ({})", 100.0 * best, t.join(", "));
    }))?;
    println!("{}", c.source);
    if quick {
        return Ok(());
    }
    let path = crate::kernels::tune::store(crate::kernels::tune::CROSSOVER_TABLE, &c.adapter, &c)?;
    println!("wrote {}", path.display());
    Ok(())
}

pub(super) fn open(choice: &AdapterChoice) -> Result<Gpu> {
    let gpu = block_on(Gpu::new(choice))?;
    eprintln!("adapter: {}", gpu.adapter_label());
    Ok(gpu)
}

fn adapters(choice: &AdapterChoice, json: bool) -> Result<()> {
    let list = block_on(list_adapters(choice))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list).unwrap());
        return Ok(());
    }
    if list.is_empty() {
        return Err(AerError::NoAdapter { detail: String::new() });
    }
    for (i, a) in list.iter().enumerate() {
        println!("[{i}] {}", a.describe());
    }
    Ok(())
}

/// A relative data path that does not exist from here is tried against the crate root, so the
/// bundled data is found from any working directory of a source checkout.
pub(super) fn load_data(args: &DataArgs) -> Result<Splits> {
    let mut dir = args.data.clone();
    if dir.is_relative() && !dir.exists() {
        let alt = Path::new(env!("CARGO_MANIFEST_DIR")).join(&dir);
        if alt.exists() {
            dir = alt;
        }
    }
    let s = load_dir(&dir, args.val_size)?;
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

/// A run file: `[train]` (TrainConfig, with `[train.optimizer]` and `[train.adv]`) and
/// `[attack]` (AttackSettings).
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RunFile {
    pub train: Option<TrainConfig>,
    pub attack: Option<AttackSettings>,
    /// `[prune]`: lottery-ticket settings.
    pub prune: Option<crate::sparse::LotteryConfig>,
}

pub(super) fn load_run_file(path: Option<&Path>) -> Result<RunFile> {
    let Some(path) = path else { return Ok(RunFile::default()) };
    let text = std::fs::read_to_string(path).map_err(|e| AerError::file(path, format!("cannot read the config: {e}")))?;
    toml::from_str(&text).map_err(|e| AerError::file(path, format!("is not a valid run file ([train] and [attack] tables): {e}")))
}

/// The model to train: the preset or file, with the --quant flags applied.
pub(super) fn model_spec(a: &TrainArgs) -> Result<ModelSpec> {
    use super::args::{QuantArg, QuantLayersArg, QuantScalesArg};
    use crate::nn::quant::{QuantLayers, QuantSpec, ScaleGranularity, TernaryMethod};
    let mut spec = ModelSpec::load(&a.model)?;
    if let Some(m) = a.quant {
        let mut q = QuantSpec::new(if m == QuantArg::Twn { TernaryMethod::Twn } else { TernaryMethod::Ttq });
        if a.quant_scales == Some(QuantScalesArg::Channel) {
            q.scales = ScaleGranularity::Channel;
        }
        if a.quant_layers == Some(QuantLayersArg::Hidden) {
            q.layers = QuantLayers::Hidden;
        }
        spec.quant = Some(q);
    }
    Ok(spec)
}

fn quantize(choice: &AdapterChoice, args: &super::args::QuantizeArgs) -> Result<()> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    if !ck.packed.is_empty() {
        return Err(AerError::checkpoint(&args.checkpoint, "is already packed"));
    }
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
    packed.save(&args.out)?;
    // Read the file back: the accuracy reported is the packed file's.
    let (packed_model, _) = Checkpoint::load(&args.out)?.restore(&gpu)?;
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
    println!("wrote {}", args.out.display());
    Ok(())
}

pub(super) fn train_config(a: &TrainArgs, file: Option<TrainConfig>) -> Result<TrainConfig> {
    let mut cfg = file.unwrap_or_default();
    let o = &mut cfg.optimizer;
    if let Some(kind) = a.optimizer {
        o.kind = match kind {
            OptimizerArg::Sgd => OptimizerKind::Sgd,
            OptimizerArg::Adam => OptimizerKind::Adam,
        };
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
        cfg.schedule = match s {
            ScheduleArg::Constant => LrSchedule::Constant,
            ScheduleArg::Cosine => LrSchedule::Cosine,
        };
    }
    let v = &a.adv;
    let any_adv_flag = v.adv_norm.is_some() || v.adv_eps.is_some() || v.adv_step.is_some() || v.adv_steps.is_some() || v.adv_no_random_start
        || v.trades_beta.is_some() || v.adv_ramp_epochs.is_some() || v.adv_share.is_some() || v.adv_balance || v.adv_val_examples.is_some();
    let mut adv = cfg.method::<AdvTrainConfig>();
    if v.adv.is_some() && adv.is_none() {
        adv = Some(AdvTrainConfig::default());
    }
    match adv.as_mut() {
        None if any_adv_flag => return Err(AerError::Invalid("--adv-* settings need --adv pgd|trades|fgsm (or a [train.adv] table)".into())),
        None => {}
        Some(adv) => {
            if let Some(m) = v.adv {
                adv.method = match m {
                    AdvMethodArg::Pgd => AdvMethod::Pgd,
                    AdvMethodArg::Trades => AdvMethod::Trades,
                    AdvMethodArg::Fgsm => AdvMethod::Fgsm,
                };
            }
            if let Some(n) = v.adv_norm { adv.norm = norm(n); }
            if let Some(x) = v.adv_eps { adv.eps = x; }
            if let Some(x) = v.adv_step { adv.step = x; }
            if let Some(x) = v.adv_steps { adv.steps = x; }
            if v.adv_no_random_start { adv.random_start = false; }
            if let Some(x) = v.trades_beta { adv.beta = x; }
            if let Some(x) = v.adv_ramp_epochs { adv.ramp_epochs = x; }
            if let Some(x) = v.adv_share { adv.share = x; }
            if v.adv_balance { adv.balance = true; }
            if let Some(x) = v.adv_val_examples { adv.val_examples = x; }
            adv.check()?;
            cfg.set(&*adv);
        }
    }
    let c = &a.certify;
    let mut certify = cfg.method::<CertifiedConfig>();
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
    let mut dynamic = cfg.method::<crate::sparse::DynamicSparseConfig>();
    if let Some(sparsity) = a.dynamic_sparsity {
        dynamic.get_or_insert_with(Default::default).sparsity = sparsity;
    }
    if let Some(d) = dynamic.as_mut() {
        use crate::sparse::{Distribution, DynamicMethod};
        if let Some(m) = a.dynamic {
            d.method = match m {
                super::args::DynamicArg::Rigl => DynamicMethod::Rigl,
                super::args::DynamicArg::Set => DynamicMethod::Set,
            };
        }
        if let Some(v) = a.dynamic_distribution {
            d.distribution = match v {
                super::args::DistributionArg::Erk => Distribution::Erk,
                super::args::DistributionArg::Uniform => Distribution::Uniform,
            };
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
        if a.quant != Some(super::args::QuantArg::Twn) {
            return Err(AerError::Invalid("--binary-relax relaxes toward TWN's projection; use it with --quant twn".into()));
        }
        let d = crate::quant::RelaxConfig::default();
        cfg.set(&crate::quant::RelaxConfig { growth: a.relax_growth.unwrap_or(d.growth), channel_sparsity: a.relax_channel_lasso.unwrap_or(d.channel_sparsity), ..d });
    }
    if let Some(r) = &cfg.method::<crate::quant::RelaxConfig>() {
        r.check()?;
    }
    if let Some(sparsity) = a.hq {
        if a.quant != Some(super::args::QuantArg::Twn) {
            return Err(AerError::Invalid("--hq ends in TWN's ternary training; use it with --quant twn".into()));
        }
        let d = crate::quant::HqConfig::default();
        cfg.set(&crate::quant::HqConfig { sparsity, sphere_fraction: a.hq_sphere_fraction.unwrap_or(d.sphere_fraction) });
    }
    if let Some(h) = &cfg.method::<crate::quant::HqConfig>() {
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
    if let Some(eb) = &cfg.method::<crate::sparse::EarlyBirdConfig>() {
        eb.check(cfg.epochs)?;
        let others = ["learned_mask", "dynamic", "prune", "snip", "block_prune", "structured_prune"].iter().any(|k| cfg.has(k));
        if others {
            return Err(AerError::Invalid("--early-bird draws its own mask while training; drop the other pruning options".into()));
        }
    }
    if cfg.has("snip") && (cfg.has("dynamic") || cfg.has("prune")) {
        return Err(AerError::Invalid("--snip makes a fixed mask at initialisation; drop --dynamic-sparsity and --prune-sparsity".into()));
    }
    if let Some(p) = &cfg.method::<crate::sparse::GradualPrune>() {
        p.check(cfg.epochs)?;
        if cfg.has("dynamic") {
            return Err(AerError::Invalid("--prune-sparsity prunes by magnitude while training and --dynamic-sparsity trains its own masks; choose one".into()));
        }
    }
    if cfg.epochs == 0 || cfg.batch_size == 0 {
        return Err(AerError::Invalid("epochs and batch size must be at least 1".into()));
    }
    Ok(cfg)
}

pub(super) fn norm(n: NormArg) -> Norm {
    match n {
        NormArg::Linf => Norm::Linf,
        NormArg::L2 => Norm::L2,
    }
}

/// Train with a progress bar per epoch and a line per finished epoch.
fn fit(gpu: &Gpu, splits: &Splits, spec: &ModelSpec, cfg: &TrainConfig, out: &Path, opts: &FitOptions) -> Result<FitResult> {
    let mut bar: Option<indicatif::ProgressBar> = None;
    let r = block_on(crate::train::fit(gpu, &crate::methods::REGISTRY, splits, spec, cfg, out, opts, &mut |ev| match ev {
        FitEvent::Note(s) => eprintln!("{s}"),
        FitEvent::EpochStart { epoch, epochs, batches } => bar = Some(epoch_bar(epoch, epochs, batches)),
        FitEvent::Batch { done } => {
            if let Some(b) = &bar {
                b.set_position(done as u64)
            }
        }
        FitEvent::EpochDone(rec) => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!("{}", epoch_line(rec, cfg.epochs));
        }
    }))?;
    let what = if cfg.has("adv") { "val robust" } else if cfg.has("certify") { "val verified" } else { "val" };
    eprintln!("best epoch {} ({what} {:.2}%), test accuracy {:.2}%", r.best_epoch, 100.0 * r.best_score, 100.0 * r.test_accuracy);
    Ok(r)
}

/// One finished epoch, as a line.
pub(super) fn epoch_line(rec: &EpochRecord, epochs: usize) -> String {
    let robust_note = match (&rec.robust, &rec.certified) {
        (Some(r), _) => format!("  eps {:.3}  train-adv {:.2}%  val-robust {:.2}%", r.eps, 100.0 * r.train_robust_accuracy, 100.0 * r.val_robust_accuracy),
        (None, Some(c)) => format!(
            "  eps {:.3}  kappa {:.2}  bound-loss {:.4}  train-verified {:.2}%  val-verified {:.2}%",
            c.eps,
            c.kappa,
            c.train_bound_loss,
            100.0 * c.train_verified_accuracy,
            100.0 * c.val_verified_accuracy
        ),
        (None, None) => String::new(),
    };
    format!(
        "epoch {:>3}/{}  loss {:.4}  train {:.2}%  val {:.2}%{robust_note}  {:.2} s",
        rec.epoch,
        epochs,
        rec.train_loss,
        100.0 * rec.train_accuracy,
        100.0 * rec.val_accuracy,
        rec.seconds
    )
}

fn eval(choice: &AdapterChoice, args: &EvalArgs, dense_kernels: bool) -> Result<()> {
    let ck = Checkpoint::load(&args.checkpoint)?;
    if let Some(m) = &args.model {
        let want = ModelSpec::load(m)?;
        if want != ck.spec {
            return Err(AerError::checkpoint(&args.checkpoint, format!("holds model '{}', not the requested '{}'", ck.spec.name, want.name)));
        }
    }
    let gpu = open(choice)?;
    let splits = load_data(&args.data)?;
    ck.check_data(splits.train.shape, splits.classes, &args.checkpoint)?;
    let (mut model, _) = ck.restore(&gpu)?;
    block_sparse(&gpu, &mut model, dense_kernels)?;
    if args.f16_activations {
        model.use_f16_activations(&gpu, true).map_err(|e| AerError::checkpoint(&args.checkpoint, e.to_string()))?;
    }
    model.use_channel_skip(!args.all_channels);
    let (name, data) = args.split.pick(&splits);
    let t = Instant::now();
    let r = block_on(evaluate(&gpu, &model, data, args.batch_size))?;
    let secs = t.elapsed().as_secs_f64();
    println!("{name} accuracy: {:.2}% ({} examples, {secs:.2} s)", 100.0 * r.accuracy, data.len());
    let rep = block_on(crate::sparse::sparsity_report(&gpu, &model))?;
    println!(
        "cost per example: {:.2} MFLOP dense, {:.2} after weight sparsity ({:.1}% of weights pruned), {:.2} after activation sparsity, {:.2} executed; {:.1} us measured (forward, batches of {})",
        2e-6 * rep.dense_macs as f64,
        2e-6 * rep.sparse_macs as f64,
        100.0 * rep.sparsity,
        2e-6 * rep.activation_sparse_macs as f64,
        2e-6 * model.executed_weights_macs(args.batch_size) as f64,
        1e6 * secs / data.len().max(1) as f64,
        args.batch_size
    );
    // Zeros in the weight layers' inputs, measured on the first examples of the split.
    let probe = data.head(data.len().min(args.batch_size.max(256)).min(model.max_batch(gpu.limits.max_storage_buffer_binding_size)));
    let (mut x, mut y) = (Vec::new(), Vec::new());
    probe.gather(&(0..probe.len() as u32).collect::<Vec<_>>(), &mut x, &mut y);
    let densities = block_on(model.input_densities(&gpu, gpu.upload(&x, &[probe.len(), probe.shape[0], probe.shape[1], probe.shape[2]])))?;
    let mut names: Vec<&String> = densities.keys().collect();
    names.sort_by_key(|n| rep.layers.iter().position(|l| &&l.name == n));
    let measured = rep.input_sparse_macs(&densities);
    println!(
        "nonzero inputs of each weight layer (first {} examples): {}; {:.2} MFLOP per example skipping both zero weights and zero activations",
        probe.len(),
        names.iter().map(|n| format!("{n} {:.1}%", 100.0 * densities[*n])).collect::<Vec<_>>().join(", "),
        2e-6 * measured
    );
    if let Some(other) = &args.mask_distance {
        let o = Checkpoint::load(other)?;
        if o.spec != ck.spec {
            return Err(AerError::checkpoint(other, format!("holds model '{}', not '{}': mask distances compare checkpoints of one model", o.spec.name, ck.spec.name)));
        }
        let (a, b) = (ck.kept(), o.kept());
        let (mut differ, mut total) = (0.0, 0usize);
        for (name, ka) in &a {
            let Some(kb) = b.get(name) else { continue };
            let d = crate::sparse::mask_distance(ka, kb);
            println!("mask distance {name}: {d:.4} ({} of {} weights kept here, {} there)", ka.iter().filter(|&&k| k).count(), ka.len(), kb.iter().filter(|&&k| k).count());
            differ += d * ka.len() as f64;
            total += ka.len();
        }
        println!("mask distance overall: {:.4}", differ / total.max(1) as f64);
    }
    Ok(())
}

fn prune(choice: &AdapterChoice, args: &super::args::PruneArgs) -> Result<()> {
    use crate::sparse::{lottery_ticket, Scope};
    let a = &args.train;
    let file = load_run_file(a.config.as_deref())?;
    let cfg = train_config(a, file.train)?;
    let mut lt = file.prune.unwrap_or_default();
    if let Some(v) = args.rounds { lt.rounds = v; }
    if let Some(v) = args.rate { lt.rate = v; }
    if let Some(v) = args.scope {
        lt.scope = if v == super::args::ScopeArg::Layer { Scope::Layer } else { Scope::Global };
    }
    if let Some(v) = args.rewind_epoch { lt.rewind_epoch = v; }
    if let Some(v) = args.colt_parts { lt.parts = v; }
    if !(lt.rate > 0.0 && lt.rate < 1.0) {
        return Err(AerError::Invalid(format!("--rate {} must be in (0, 1)", lt.rate)));
    }
    if lt.rewind_epoch >= cfg.epochs {
        return Err(AerError::Invalid(format!("--rewind-epoch {} must be below --epochs {}", lt.rewind_epoch, cfg.epochs)));
    }
    let gpu = open(choice)?;
    let splits = load_data(&a.data)?;
    let spec = model_spec(a)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from(format!("runs/{}-lottery-s{}", spec.name, cfg.seed)));
    std::fs::create_dir_all(&out).map_err(|e| AerError::file(&out, format!("cannot create the output directory: {e}")))?;
    let what = if lt.parts > 1 { format!("COLT over {} data shares", lt.parts) } else { "lottery ticket".into() };
    eprintln!("{what}: {} rounds of {:.0}% ({:?}), rewind to epoch {}, {} epochs per round", lt.rounds, 100.0 * lt.rate, lt.scope, lt.rewind_epoch, cfg.epochs);
    let cfg = crate::methods::REGISTRY.check(&cfg)?;
    let mut methods = crate::methods::REGISTRY.build(&cfg)?;
    let rounds = block_on(lottery_ticket(&gpu, &splits, &spec, &cfg, &lt, &mut methods, &mut |r| {
        eprintln!(
            "round {:>2}: {:6.2}% of weights  best epoch {:>2}  val {:.2}%  test {:.2}%  {:.1} s",
            r.round,
            100.0 * r.remaining,
            r.best_epoch,
            100.0 * r.val_accuracy,
            100.0 * r.test_accuracy,
            r.seconds
        );
    }))?;
    let doc = serde_json::json!({"model": spec.name, "adapter": gpu.adapter_label(), "data": splits.source, "config": cfg, "lottery": lt, "rounds": rounds});
    write_atomic(&out.join("lottery.json"), serde_json::to_string_pretty(&doc).unwrap().as_bytes())?;
    eprintln!("wrote {}", out.join("lottery.json").display());
    Ok(())
}
