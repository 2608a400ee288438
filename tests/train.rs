//! Training end to end on the GPU (short runs, well under 30 s each): the model learns, a
//! resumed run equals an uninterrupted one bit for bit, and checkpoints round-trip.

mod common;

use common::{gpu, mnist_head};
use aer::data::Splits;
use aer::nn::{Model, ModelSpec};
use aer::train::{evaluate, train_epoch, Checkpoint, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, TrainConfig};
use pollster::block_on;

fn small_mnist(train: usize) -> Splits {
    mnist_head(train, 500)
}

fn config(kind: OptimizerKind, lr: f32, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 64,
        seed: 7,
        optimizer: OptimizerConfig { kind, lr, ..Default::default() },
        schedule: LrSchedule::Cosine,
        ..Default::default()
    }
}

fn fit(model: &Model, opt: &mut Optimizer, s: &Splits, cfg: &TrainConfig, epochs: std::ops::Range<usize>) {
    for e in epochs {
        block_on(train_epoch(gpu(), model, opt, &s.train, cfg, e, &mut aer::methods::REGISTRY.build(cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
    }
}

#[test]
fn mlp_learns_mnist() {
    let s = small_mnist(2000);
    let cfg = config(OptimizerKind::Adam, 2e-3, 3);
    let model = Model::new(gpu(), &ModelSpec::load("mlp").unwrap(), s.train.shape, s.classes, cfg.seed).unwrap();
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    let before = block_on(evaluate(gpu(), &model, &s.val, 256)).unwrap().accuracy;
    fit(&model, &mut opt, &s, &cfg, 0..3);
    let after = block_on(evaluate(gpu(), &model, &s.val, 256)).unwrap().accuracy;
    assert!(before < 0.3, "untrained accuracy {before}");
    assert!(after > 0.85, "accuracy after 3 epochs on 2,000 images: {after}");
}

#[test]
fn cnn_trains_with_sgd() {
    let s = small_mnist(512);
    let cfg = config(OptimizerKind::Sgd, 0.05, 2);
    let model = Model::new(gpu(), &ModelSpec::load("cnn").unwrap(), s.train.shape, s.classes, cfg.seed).unwrap();
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    let first = block_on(train_epoch(gpu(), &model, &mut opt, &s.train, &cfg, 0, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
    let second = block_on(train_epoch(gpu(), &model, &mut opt, &s.train, &cfg, 1, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
    assert!(second.loss < first.loss && second.loss.is_finite(), "loss {} -> {}", first.loss, second.loss);
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let s = small_mnist(600);
    let spec = ModelSpec::load("mlp").unwrap();
    for kind in [OptimizerKind::Sgd, OptimizerKind::Adam] {
        let cfg = config(kind, 0.01, 3);
        let straight = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &straight.params);
        fit(&straight, &mut opt, &s, &cfg, 0..3);

        let first = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
        let mut opt1 = Optimizer::new(gpu(), &cfg.optimizer, &first.params);
        fit(&first, &mut opt1, &s, &cfg, 0..1);
        let ck = block_on(Checkpoint::capture(gpu(), &first, &opt1, &cfg, 1, &[])).unwrap();
        let ck = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
        assert_eq!(ck.epoch, 1);
        let (resumed, mut opt2) = ck.restore(gpu()).unwrap();
        fit(&resumed, &mut opt2, &s, &cfg, 1..3);

        let a = block_on(straight.download(gpu())).unwrap();
        let b = block_on(resumed.download(gpu())).unwrap();
        for ((name, _, x), (_, _, y)) in a.iter().zip(&b) {
            assert!(x == y, "{kind:?}: {name} differs after resume");
        }
    }
}

#[test]
fn checkpoint_keeps_pytorch_names_and_shapes() {
    let s = small_mnist(64);
    let cfg = config(OptimizerKind::Adam, 1e-3, 1);
    let model = Model::new(gpu(), &ModelSpec::load("cnn").unwrap(), s.train.shape, s.classes, 3).unwrap();
    let opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    let ck = block_on(Checkpoint::capture(gpu(), &model, &opt, &cfg, 0, &[])).unwrap();
    assert_eq!(ck.tensors["conv1.weight"].0, vec![16, 1, 5, 5]);
    assert_eq!(ck.tensors["conv2.weight"].0, vec![32, 16, 5, 5]);
    assert_eq!(ck.tensors["fc1.weight"].0, vec![256, 1568]);
    assert_eq!(ck.tensors["fc2.bias"].0, vec![10]);
    assert!(ck.tensors.contains_key("optimizer.fc1.weight.exp_avg_sq"));
    assert_eq!(model.num_parameters(), 16 * 25 + 16 + 32 * 400 + 32 + 1568 * 256 + 256 + 2570);
}

/// Training methods are tables of the training config under their keys: the registry reads
/// and checks them (defaults filled in, no float noise), refuses unknown keys and bad settings
/// by name, and reads older checkpoints' configs (every method written, off ones as null).
#[test]
fn training_methods_are_read_and_checked_by_the_registry() {
    use aer::methods::REGISTRY;
    let cfg: TrainConfig = toml::from_str("epochs = 3\n[adv]\neps = 0.3\nsteps = 7\n[prune]\nsparsity = 0.5\n").unwrap();
    let full = REGISTRY.check(&cfg).unwrap();
    let adv = full.method::<aer::attack::AdvTrainConfig>().unwrap().unwrap();
    assert_eq!((adv.eps, adv.steps, adv.step), (0.3, 7, 0.01), "defaults filled in");
    let json = serde_json::to_string(&full).unwrap();
    assert!(json.contains("\"eps\":0.3,") && !json.contains("0.30000001"), "{json}");
    assert_eq!(REGISTRY.build(&full).unwrap().len(), 2);
    let back: TrainConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, full, "a config round-trips through JSON");

    let old: TrainConfig = serde_json::from_str("{\"epochs\":2,\"adv\":null,\"prune\":null,\"hq\":null}").unwrap();
    assert!(old.methods.is_empty() && old.epochs == 2);

    let typo: TrainConfig = toml::from_str("epoch = 3\n").unwrap();
    let e = REGISTRY.check(&typo).unwrap_err().to_string();
    assert!(e.contains("'epoch'") && e.contains("epochs") && e.contains("adv"), "{e}");
    let bad: TrainConfig = toml::from_str("[prune]\nsparsity = 1.5\n").unwrap();
    let e = REGISTRY.check(&bad).unwrap_err().to_string();
    assert!(e.contains("prune sparsity 1.5"), "{e}");
    let misspelt: TrainConfig = toml::from_str("[adv]\nepss = 0.1\n").unwrap();
    let e = misspelt.method::<aer::attack::AdvTrainConfig>().unwrap_err().to_string();
    assert!(e.contains("'adv'") && e.contains("epss"), "a misspelt setting reads as an error, never as the method off: {e}");
    let both: TrainConfig = toml::from_str("[adv]\neps = 0.1\n[certify]\neps = 0.1\n").unwrap();
    assert!(REGISTRY.check(&both).is_err(), "two losses at once are refused");
}

/// Gaussian data augmentation: at sigma 0 it trains exactly as clean training does (the noisy
/// copy is the image), above 0 it trains on other inputs, and it refuses to share a run with
/// another loss.
#[test]
fn gaussian_noise_trains_on_noisy_copies() {
    use aer::methods::gaussian_noise::GaussianNoise;
    let s = small_mnist(256);
    let spec = ModelSpec::load("mlp").unwrap();
    let weights = |cfg: &TrainConfig| {
        let model = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
        fit(&model, &mut opt, &s, cfg, 0..1);
        block_on(model.download(gpu())).unwrap()
    };
    let clean = config(OptimizerKind::Adam, 1e-3, 1);
    assert_eq!(weights(&clean), weights(&clean.clone().with(&GaussianNoise { sigma: 0.0 })), "sigma 0 is clean training");
    assert_ne!(weights(&clean), weights(&clean.clone().with(&GaussianNoise { sigma: 0.5 })), "sigma 0.5 trains on noisy copies");
    let both = clean.with(&GaussianNoise { sigma: 0.25 }).with(&aer::attack::AdvTrainConfig::default());
    let e = aer::methods::REGISTRY.check(&both).unwrap_err().to_string();
    assert!(e.contains("choose one"), "{e}");
}

/// AugMix: the step trains on mixtures in [0, 1] drawn from (seed, step), the same for the
/// same step and other ones for the next; training with it is reproducible and differs from
/// clean training; bad settings are refused by name.
#[test]
fn augmix_trains_on_mixtures() {
    use aer::methods::augmix::Augmix;
    use aer::train::Step;
    let s = small_mnist(256);
    let spec = ModelSpec::load("mlp").unwrap();
    let clean = config(OptimizerKind::Adam, 1e-3, 1);
    let aug = clean.clone().with(&Augmix::default());
    let (n, [c, h, w]) = (8, s.train.shape);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    s.train.gather(&(0..n as u32).collect::<Vec<_>>(), &mut xs, &mut ys);
    let x = gpu().upload(&xs, &[n, c, h, w]);
    let input = |k: usize| {
        let step = Step { epoch: 0, batch: k, batches: 4, step: k, total: 8, seed: aug.seed };
        let t = aer::methods::REGISTRY.build(&aug).unwrap()[0].batch_input(gpu(), &x, &step).expect("augmix replaces the input");
        block_on(gpu().read_f32(&t)).unwrap()
    };
    let first = input(0);
    assert_ne!(first, xs, "the step trains on mixtures");
    assert_eq!(first, input(0), "the same step draws the same batch");
    assert_ne!(first, input(1), "the next step draws another");
    assert!(first.iter().all(|v| (0.0..=1.0 + 1e-6).contains(v)), "mixtures of images in [0, 1] stay there");
    let weights = |cfg: &TrainConfig| {
        let model = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
        fit(&model, &mut opt, &s, cfg, 0..1);
        block_on(model.download(gpu())).unwrap()
    };
    let trained = weights(&aug);
    assert_ne!(trained, weights(&clean), "augmix changes what the model learns");
    assert_eq!(trained, weights(&aug), "two runs with one seed are bit-identical");
    for (bad, word) in [(Augmix { width: 0, ..Augmix::default() }, "width"), (Augmix { severity: 11.0, ..Augmix::default() }, "severity"), (Augmix { alpha: 0.0, ..Augmix::default() }, "alpha")] {
        let e = aer::methods::REGISTRY.check(&clean.clone().with(&bad)).unwrap_err().to_string();
        assert!(e.contains("augmix") && e.contains(word), "{e}");
    }
}

/// Batch normalization and dropout: the model learns; a run resumed from a checkpoint (the
/// running statistics in it, dropout's masks drawn from the step) ends bit for bit as the
/// uninterrupted one; evaluation uses the running statistics, so it does not depend on the
/// batch.
#[test]
fn batchnorm_and_dropout_train_and_resume() {
    let s = small_mnist(600);
    let toml = "name = \"bn\"\n[[layers]]\ntype = \"conv2d\"\nout = 6\nkernel = 3\nstride = 2\n[[layers]]\ntype = \"batchnorm\"\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dropout\"\nrate = 0.2\n[[layers]]\ntype = \"linear\"\n";
    let spec = ModelSpec::from_toml(toml, "bn").unwrap();
    let cfg = config(OptimizerKind::Adam, 3e-3, 3);
    let straight = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &straight.params);
    fit(&straight, &mut opt, &s, &cfg, 0..3);
    let acc = block_on(evaluate(gpu(), &straight, &s.val, 256)).unwrap().accuracy;
    assert!(acc > 0.75, "validation accuracy after 3 epochs on 600 images: {acc}");
    let small_batches = block_on(evaluate(gpu(), &straight, &s.val, 7)).unwrap().accuracy;
    assert_eq!(acc, small_batches, "evaluation must not depend on the batch");

    let first = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
    let mut opt1 = Optimizer::new(gpu(), &cfg.optimizer, &first.params);
    fit(&first, &mut opt1, &s, &cfg, 0..1);
    let ck = block_on(Checkpoint::capture(gpu(), &first, &opt1, &cfg, 1, &[])).unwrap();
    assert!(ck.tensors.contains_key("bn1.running_var") && !ck.tensors.contains_key("optimizer.bn1.running_var.exp_avg"));
    let (resumed, mut opt2) = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap().restore(gpu()).unwrap();
    fit(&resumed, &mut opt2, &s, &cfg, 1..3);
    let (a, b) = (block_on(straight.download(gpu())).unwrap(), block_on(resumed.download(gpu())).unwrap());
    for ((name, _, x), (_, _, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs after resume");
    }
}

/// Data augmentation (random crop with zero padding, horizontal flip): the step trains on
/// shifted or mirrored copies drawn from (seed, step), so runs and resumed runs are
/// bit-identical; validation reads the images as they are; bad settings are refused.
#[test]
fn augmentation_changes_training_batches_only() {
    use aer::methods::augment::Augment;
    use aer::train::Step;
    let s = small_mnist(256);
    let spec = ModelSpec::load("mlp").unwrap();
    let clean = config(OptimizerKind::Adam, 1e-3, 2);
    let aug = clean.clone().with(&Augment { crop: 2, flip: true });

    // The hook: copies of the batch's pixels (or zeros shifted in), the same for the same
    // step, other ones for the next; a flip alone mirrors each image or leaves it.
    let (n, [c, h, w]) = (8, s.train.shape);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    s.train.gather(&(0..n as u32).collect::<Vec<_>>(), &mut xs, &mut ys);
    let x = gpu().upload(&xs, &[n, c, h, w]);
    let step = |k: usize| Step { epoch: 0, batch: k, batches: 4, step: k, total: 8, seed: aug.seed };
    let input = |cfg: &TrainConfig, k: usize| {
        let t = aer::methods::REGISTRY.build(cfg).unwrap()[0].batch_input(gpu(), &x, &step(k)).expect("augment replaces the input");
        block_on(gpu().read_f32(&t)).unwrap()
    };
    let first = input(&aug, 0);
    assert_ne!(first, xs, "the step trains on augmented images");
    assert_eq!(first, input(&aug, 0), "the same step draws the same batch");
    assert_ne!(first, input(&aug, 1), "the next step draws another");
    assert!(first.iter().all(|v| *v == 0.0 || xs.contains(v)), "pixels are copied, or zeros shifted in");
    let flipped = input(&clean.clone().with(&Augment { crop: 0, flip: true }), 0);
    let mirror = |img: &[f32]| img.chunks(w).flat_map(|row| row.iter().rev().copied()).collect::<Vec<_>>();
    let mut mirrored = 0;
    for (a, b) in flipped.chunks(h * w).zip(xs.chunks(h * w)) {
        assert!(a == b || a == mirror(b), "a flip mirrors an image or leaves it");
        mirrored += (a != b) as usize;
    }
    assert!(mirrored > 0 && mirrored < n, "{mirrored} of {n} images mirrored");

    // Training: other weights than clean training, the same in every run and after a resume.
    let weights = |cfg: &TrainConfig, epochs: std::ops::Range<usize>| {
        let model = Model::new(gpu(), &spec, s.train.shape, s.classes, cfg.seed).unwrap();
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
        fit(&model, &mut opt, &s, cfg, epochs);
        (model, opt)
    };
    let download = |m: &Model| block_on(m.download(gpu())).unwrap();
    let (straight, _) = weights(&aug, 0..2);
    assert_ne!(download(&straight), download(&weights(&clean, 0..2).0), "augmentation changes what the model learns");
    assert_eq!(download(&straight), download(&weights(&aug, 0..2).0), "two runs with one seed are bit-identical");
    let (first_half, opt) = weights(&aug, 0..1);
    let ck = block_on(Checkpoint::capture(gpu(), &first_half, &opt, &aug, 1, &[])).unwrap();
    let (resumed, mut opt2) = ck.restore(gpu()).unwrap();
    fit(&resumed, &mut opt2, &s, &aug, 1..2);
    assert_eq!(download(&straight), download(&resumed), "a resumed run sees the batches of an uninterrupted one");

    // Validation is unaugmented: the recorded accuracy is that of the plain validation images.
    let out = common::tmpdir("augment-fit");
    let one = TrainConfig { epochs: 1, ..aug.clone() };
    let r = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &s, &spec, &one, &out, &Default::default(), &mut |_| {})).unwrap();
    let (last, _) = Checkpoint::load(&out.join("last.safetensors")).unwrap().restore(gpu()).unwrap();
    assert_eq!(r.best_score, block_on(evaluate(gpu(), &last, &s.val, 256)).unwrap().accuracy);

    // Refused: nothing turned on, an unknown key, a crop as large as the image.
    let e = aer::methods::REGISTRY.check(&clean.clone().with(&Augment { crop: 0, flip: false })).unwrap_err().to_string();
    assert!(e.contains("augment") && e.contains("crop"), "{e}");
    let typo: TrainConfig = toml::from_str("[augment]\ncrops = 4\n").unwrap();
    assert!(aer::methods::REGISTRY.check(&typo).unwrap_err().to_string().contains("crops"));
    let big = TrainConfig { epochs: 1, ..clean.with(&Augment { crop: 28, flip: false }) };
    let e = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &s, &spec, &big, &out.join("big"), &Default::default(), &mut |_| {})).err().expect("crop 28 refused").to_string();
    assert!(e.contains("crop 28") && e.contains("28x28"), "{e}");
    let _ = std::fs::remove_dir_all(&out);
}

/// The piecewise schedule: lr times lr_factor after each milestone epoch, and milestones that
/// are not increasing epochs within the run refused.
#[test]
fn piecewise_schedule_drops_at_milestones() {
    let cfg = TrainConfig { epochs: 4, schedule: LrSchedule::Piecewise, milestones: vec![2, 3], ..config(OptimizerKind::Sgd, 1.0, 4) };
    aer::methods::REGISTRY.check(&cfg).unwrap();
    // 10 steps per epoch.
    let lrs: Vec<f32> = [0, 19, 20, 29, 30, 39].iter().map(|&s| cfg.lr_at(s, 40)).collect();
    assert_eq!(lrs, [1.0, 1.0, 0.1, 0.1, 0.1f32 * 0.1, 0.1f32 * 0.1]);
    let half = TrainConfig { lr_factor: 0.5, ..cfg.clone() };
    assert_eq!(half.lr_at(35, 40), 0.25);
    let from_toml: TrainConfig = toml::from_str("epochs = 4\nschedule = \"piecewise\"\nmilestones = [2, 3]\nlr_factor = 0.5\n").unwrap();
    assert_eq!((from_toml.schedule, from_toml.milestones, from_toml.lr_factor), (LrSchedule::Piecewise, vec![2, 3], 0.5));
    for (bad, needle) in [
        (TrainConfig { milestones: vec![3, 2], ..cfg.clone() }, "increasing"),
        (TrainConfig { milestones: vec![0, 2], ..cfg.clone() }, "increasing"),
        (TrainConfig { milestones: vec![2, 4], ..cfg.clone() }, "below the run's 4 epochs"),
        (TrainConfig { milestones: vec![], ..cfg.clone() }, "needs milestones"),
        (TrainConfig { lr_factor: 0.0, ..cfg.clone() }, "lr_factor 0"),
        (TrainConfig { schedule: LrSchedule::Cosine, ..cfg.clone() }, "are for the piecewise schedule"),
    ] {
        let e = aer::methods::REGISTRY.check(&bad).unwrap_err().to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
}

/// The recipes in assets/configs read as run files whose training settings pass the checks.
#[test]
fn recipe_configs_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/configs");
    for name in ["cifar10-sgd.toml", "mnist-adam.toml"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut file: toml::Table = toml::from_str(&text).unwrap();
        let train: TrainConfig = file.remove("train").expect("a [train] table").try_into().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(file.is_empty(), "{name}: only [train]");
        let cfg = aer::methods::REGISTRY.check(&train).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.starts_with("cifar10") {
            let aug = cfg.method::<aer::methods::augment::Augment>().unwrap().unwrap();
            assert_eq!((aug.crop, aug.flip, cfg.optimizer.kind, cfg.optimizer.nesterov, cfg.batch_size), (4, true, OptimizerKind::Sgd, true, 128));
            assert_eq!(cfg.milestones, [cfg.epochs / 2, cfg.epochs * 3 / 4]);
        }
    }
}

/// A batch whose largest tensor exceeds the adapter's storage binding: training refuses it,
/// naming the largest batch that fits; evaluation splits it and gets the same answers.
#[test]
fn batches_beyond_the_binding_limit_are_refused_or_split() {
    let toml = "name = \"wide\"\n[[layers]]\ntype = \"conv2d\"\nout = 512\nkernel = 3\npadding = 1\n[[layers]]\ntype = \"global_avgpool\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n";
    let spec = ModelSpec::from_toml(toml, "wide").unwrap();
    let model = Model::new(gpu(), &spec, [3, 48, 48], 10, 1).unwrap();
    let limit = gpu().limits.max_storage_buffer_binding_size;
    let most = model.max_batch(limit);
    assert!(most >= 1 && most < 1000, "{most}");
    let e = model.check_batch(gpu(), most + 1, "batch size x").unwrap_err().to_string();
    assert!(e.contains("batch size x") && e.contains(&format!("--batch-size {most}")) && e.contains("MiB"), "{e}");
    assert!(model.check_batch(gpu(), most, "b").is_ok());
    assert_eq!(model.fitting_batch(gpu(), 100_000).unwrap(), most);
    let data = aer::data::Dataset { images: (0..(most + 3) * 3 * 48 * 48).map(|i| (i % 251) as u8).collect(), labels: (0..most + 3).map(|i| (i % 10) as u8).collect(), shape: [3, 48, 48] };
    let split = block_on(evaluate(gpu(), &model, &data, most + 3)).unwrap();
    let small = block_on(evaluate(gpu(), &model, &data, 2)).unwrap();
    assert_eq!(split.predictions, small.predictions);
    let cfg = TrainConfig { batch_size: most + 3, ..config(OptimizerKind::Sgd, 0.01, 1) };
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    let e = block_on(train_epoch(gpu(), &model, &mut opt, &data, &cfg, 0, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap_err().to_string();
    assert!(e.contains(&format!("batch size {}", most + 3)) && e.contains(&format!("at most {most}")), "{e}");
}
