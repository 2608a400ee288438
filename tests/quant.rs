//! Ternary quantization end to end: TWN and TTQ training learns with weights that really are
//! ternary, and a packed checkpoint computes what the latent model computes (logits and the
//! input gradient attacks use), and refuses corrupt codes.

mod common;

use common::{gpu, mnist_head};
use aer::kernels::tune::Cutoffs;
use aer::data::Splits;
use aer::nn::{Model, ModelSpec};
use aer::nn::quant::{QuantSpec, ScaleGranularity, TernaryMethod};
use aer::train::{evaluate, train_epoch, Checkpoint, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, TrainConfig};
use pollster::block_on;

fn mnist(train: usize) -> Splits {
    mnist_head(train, 500)
}

fn config() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: 64,
        seed: 3,
        optimizer: OptimizerConfig { kind: OptimizerKind::Adam, lr: 2e-3, ..Default::default() },
        schedule: LrSchedule::Constant,
        ..Default::default()
    }
}

fn quantized(model: &str, q: QuantSpec) -> ModelSpec {
    let mut spec = ModelSpec::load(model).unwrap();
    spec.quant = Some(q);
    spec
}

fn train(spec: &ModelSpec, data: &Splits, epochs: usize) -> (Model, Optimizer) {
    train_with(spec, data, epochs, |_| {})
}

/// `train` with the model set up by `setup` first.
fn train_with(spec: &ModelSpec, data: &Splits, epochs: usize, setup: impl FnOnce(&mut Model)) -> (Model, Optimizer) {
    let mut model = Model::new(gpu(), spec, data.train.shape, data.classes, 3).unwrap();
    setup(&mut model);
    let cfg = config();
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    for e in 0..epochs {
        block_on(train_epoch(gpu(), &model, &mut opt, &data.train, &cfg, e, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
    }
    (model, opt)
}

#[test]
fn twn_and_ttq_train_models_whose_weights_are_ternary() {
    let data = mnist(3000);
    for method in [TernaryMethod::Twn, TernaryMethod::Ttq] {
        let (model, _) = train(&quantized("mlp", QuantSpec::new(method)), &data, 2);
        let acc = block_on(evaluate(gpu(), &model, &data.val, 256)).unwrap().accuracy;
        assert!(acc > 0.85, "{method:?}: validation accuracy {acc}");
        let q = model.quant.as_ref().unwrap();
        assert_eq!(q.weights.len(), 3, "every weight layer is ternary");
        for w in &q.weights {
            let v = block_on(gpu().read_f32(&w.wq)).unwrap();
            let mut distinct: Vec<f32> = v.clone();
            distinct.sort_by(|a, b| a.partial_cmp(b).unwrap());
            distinct.dedup();
            assert!(distinct.len() <= 3 && distinct.contains(&0.0), "{method:?} {}: values {distinct:?}", model.params[w.param].name);
            let zeros = v.iter().filter(|&&x| x == 0.0).count() as f64 / v.len() as f64;
            assert!((0.02..0.98).contains(&zeros), "{method:?}: {:.3} of the weights are zero", zeros);
        }
        if method == TernaryMethod::Ttq {
            // Learned scales: the positive and negative ones drift apart from their common start.
            let (p, n) = q.weights[0].learned.unwrap();
            let (sp, sn) = (block_on(gpu().read_f32(&model.params[p].value)).unwrap(), block_on(gpu().read_f32(&model.params[n].value)).unwrap());
            assert_ne!(sp, sn, "TTQ scales did not move");
        }
    }
}

/// mlp and cnn, per-channel TTQ (asymmetric scales; the convolution layout). The packed
/// kernels sum in another order, so activations differ by rounding; on the cnn that can flip
/// a ReLU at zero or a max-pool's near-tie, which reroutes the gradient at a few pixels: there
/// at least 99% of the input gradient must agree, elsewhere all of it.
#[test]
fn packed_checkpoint_computes_what_the_latent_model_computes() {
    for (name, layers, routed) in [("mlp", 3, 0.0), ("cnn", 4, 0.01)] {
        packed_matches_latent(name, layers, routed);
    }
}

fn packed_matches_latent(name: &str, layers: usize, routed: f64) {
    let data = mnist(600);
    let spec = quantized(name, QuantSpec { scales: ScaleGranularity::Channel, ..QuantSpec::new(TernaryMethod::Ttq) });
    let (model, opt) = train(&spec, &data, 1);
    let x = data.test.head(16);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    x.gather(&(0..16).collect::<Vec<u32>>(), &mut xs, &mut ys);
    let run = |m: &Model| {
        let input = gpu().upload(&xs, &[16, 1, 28, 28]);
        let mut tape = m.tape();
        let logits = m.forward(gpu(), input, Some(&mut tape));
        let dy = gpu().full(logits.shape(), 0.1);
        let dx = m.input_gradient(gpu(), tape, dy);
        (block_on(gpu().read_f32(&logits)).unwrap(), block_on(gpu().read_f32(&dx)).unwrap())
    };
    let (want_logits, want_dx) = run(&model);

    let ck = block_on(Checkpoint::capture(gpu(), &model, &opt, &config(), 1, &[])).unwrap();
    let packed = block_on(Checkpoint::capture_packed(gpu(), &model, &config(), 1, &[])).unwrap();
    let (f32_bytes, packed_bytes, _) = packed.weight_bytes();
    assert!(f32_bytes as f64 / packed_bytes as f64 > 10.0, "{f32_bytes} B f32 vs {packed_bytes} B packed");
    let bytes = packed.to_bytes().unwrap();
    assert!(bytes.len() * 5 < ck.to_bytes().unwrap().len(), "the packed file is not much smaller");
    let (packed_model, _) = Checkpoint::from_bytes(&bytes).unwrap().restore(gpu()).unwrap();
    assert_eq!(packed_model.packed().len(), layers, "every weight layer runs packed");
    let (logits, dx) = run(&packed_model);
    let close = |a: &[f32], b: &[f32], what: &str, allowed: f64| {
        let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
        let bad: Vec<usize> = (0..a.len()).filter(|&i| (a[i] - b[i]).abs() > 1e-4 * scale).collect();
        assert!(bad.len() as f64 <= allowed * a.len() as f64, "{name} {what}: {} of {} differ, first [{}]: packed {}, latent {}", bad.len(), a.len(), bad[0], a[bad[0]], b[bad[0]]);
    };
    close(&logits, &want_logits, "logits", 0.0);
    close(&dx, &want_dx, "input gradient", routed);

    // A code 10 in a packed word is corruption, reported as such.
    let mut bad = Checkpoint::from_bytes(&bytes).unwrap();
    bad.packed.values_mut().next().unwrap().1[0] = 0b10;
    let err = Checkpoint::from_bytes(&bad.to_bytes().unwrap()).unwrap().restore(gpu()).err().expect("corrupt codes accepted").to_string();
    assert!(err.contains("corrupt"), "{err}");
}

/// BinaryRelax: while relaxed, the forward weights lie strictly between the latent weights
/// and their ternary projection; after the epoch (and in the exact phase) they are ternary
/// again; the model learns; and the channel-sparsity term shrinks whole output channels.
#[test]
fn binary_relax_trains_toward_the_ternary_projection_and_the_lasso_shrinks_channels() {
    use aer::quant::RelaxConfig;
    let r = RelaxConfig::default();
    assert_eq!(r.lambda_at(0, 100, 10), Some(1.0));
    assert_eq!(r.lambda_at(20, 100, 10), Some(4.0));
    assert_eq!(r.lambda_at(75, 100, 10), None, "the last quarter is exact");
    let data = mnist(1500);
    let spec = quantized("mlp", QuantSpec::new(TernaryMethod::Twn));
    let mut row_norms = Vec::new();
    for mu in [0.0f32, 0.02] {
        let model = Model::new(gpu(), &spec, data.train.shape, data.classes, 3).unwrap();
        let relax = RelaxConfig { channel_sparsity: mu, ..RelaxConfig::default() };
        let cfg = TrainConfig { epochs: 3, ..config() }.with(&relax);
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
        for e in 0..cfg.epochs {
            block_on(train_epoch(gpu(), &model, &mut opt, &data.train, &cfg, e, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
        }
        let q = model.quant.as_ref().unwrap();
        // Relaxed at lambda 3: wq = (w + 3 Q(w)) / 4, with Q(w) recomputed here.
        q.set_relaxation(Some(3.0), 0.0);
        q.refresh(gpu(), &model.params);
        let relaxed = block_on(gpu().read_f32(&q.weights[1].wq)).unwrap();
        q.set_relaxation(None, 0.0);
        q.refresh(gpu(), &model.params);
        let exact = block_on(gpu().read_f32(&q.weights[1].wq)).unwrap();
        let latent = block_on(gpu().read_f32(&model.params[q.weights[1].param].value)).unwrap();
        for ((r, e), w) in relaxed.iter().zip(&exact).zip(&latent) {
            assert!((r - (w + 3.0 * e) / 4.0).abs() < 1e-6, "relaxed {r}, exact {e}, latent {w}");
        }
        let mut distinct = exact.clone();
        distinct.sort_by(|a, b| a.partial_cmp(b).unwrap());
        distinct.dedup();
        assert!(distinct.len() <= 3, "exact projection: {distinct:?}");
        let acc = block_on(evaluate(gpu(), &model, &data.val, 256)).unwrap().accuracy;
        // The lasso trades some accuracy for sparse channels.
        assert!(acc > if mu > 0.0 { 0.75 } else { 0.85 }, "mu {mu}: validation accuracy {acc}");
        // fc2's output channels: how many have a latent norm below a tenth of the largest.
        let k = model.params[q.weights[1].param].value.shape()[1];
        let norms: Vec<f32> = latent.chunks(k).map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt()).collect();
        let max = norms.iter().cloned().fold(0.0, f32::max);
        row_norms.push(norms.iter().filter(|&&n| n < 0.1 * max).count());
    }
    assert!(row_norms[1] > row_norms[0] + 5, "channels shrunk without and with the lasso: {row_norms:?}");
}

/// HQ: on the hypersphere every row keeps its norm through the optimizer's steps; the
/// reinitialisation puts the kept weights exactly on their ternary direction (cosine
/// distance 0 with per-channel scales); and a run through `fit` (pruning on the sphere, then
/// ternary training) ends with ternary weights closer in direction to the full-precision
/// ones than TWN's from the same start, at a usable accuracy.
#[test]
fn hq_keeps_rows_on_the_sphere_and_ends_nearer_the_ternary_direction() {
    use aer::nn::quant::cosine_distance;
    use aer::quant::HqConfig;
    use aer::train::{fit, FitEvent};
    let data = mnist(1500);
    let channel = QuantSpec { scales: ScaleGranularity::Channel, ..QuantSpec::new(TernaryMethod::Twn) };
    let model = Model::new(gpu(), &quantized("mlp", channel), data.train.shape, data.classes, 3).unwrap();
    let q = model.quant.as_ref().unwrap();
    let norms = |i: usize| {
        let w = block_on(gpu().read_f32(&model.params[q.weights[i].param].value)).unwrap();
        let k = w.len() / q.weights[i].groups.n;
        w.chunks(k).map(|r| r.iter().map(|v| v * v).sum::<f32>().sqrt()).collect::<Vec<f32>>()
    };
    q.begin_sphere(gpu(), &model.params);
    let before = norms(1);
    let cfg = config();
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    block_on(train_epoch(gpu(), &model, &mut opt, &data.train, &cfg, 0, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
    q.refresh(gpu(), &model.params);
    for (a, b) in before.iter().zip(norms(1)) {
        assert!((a - b).abs() < 1e-5 * a, "row norm {a} -> {b} on the sphere");
    }
    q.end_sphere(gpu(), &model.params);
    for (d, w) in block_on(q.cosine_distances(gpu(), &model.params)).unwrap().iter().zip(&q.weights) {
        assert!(d.1.abs() < 1e-6, "{}: cosine distance {} after the reinitialisation", model.params[w.param].name, d.1);
    }

    let spec = quantized("mlp", QuantSpec::new(TernaryMethod::Twn));
    let mut results = Vec::new();
    for hq in [None, Some(HqConfig::default())] {
        let mut cfg = TrainConfig { epochs: 4, ..config() };
        if let Some(h) = &hq {
            cfg.set(h);
        }
        let dir = common::tmpdir(if hq.is_some() { "hq" } else { "hq-twn" });
        let mut notes = Vec::new();
        let r = block_on(fit(gpu(), &aer::methods::REGISTRY, &data, &spec, &cfg, &dir, &Default::default(), &mut |e| {
            if let FitEvent::Note(n) = e {
                notes.push(n)
            }
        }))
        .unwrap();
        if hq.is_some() {
            assert!(notes.iter().any(|n| n.contains("epoch 1: HQ") && n.contains("pruned")), "{notes:#?}");
            assert!(notes.iter().any(|n| n.starts_with("epoch 3: HQ reinitialised")), "{notes:#?}");
            assert!(r.best_epoch >= 3, "a full-precision epoch was picked: {}", r.best_epoch);
        }
        let (model, _) = Checkpoint::load(&dir.join("best.safetensors")).unwrap().restore(gpu()).unwrap();
        let acc = block_on(evaluate(gpu(), &model, &data.val, 256)).unwrap().accuracy;
        let q = model.quant.as_ref().unwrap();
        let fc1 = block_on(q.cosine_distances(gpu(), &model.params)).unwrap()[0].1;
        let (w, t) = (block_on(gpu().read_f32(&model.params[q.weights[0].param].value)).unwrap(), block_on(gpu().read_f32(&q.weights[0].wq)).unwrap());
        assert!((cosine_distance(&w, &t) - fc1).abs() < 1e-9);
        results.push((acc, fc1));
    }
    let ((twn_acc, twn_cos), (hq_acc, hq_cos)) = (results[0], results[1]);
    assert!(hq_acc > 0.8 && twn_acc > 0.8, "validation accuracy: TWN {twn_acc}, HQ {hq_acc}");
    assert!(hq_cos < 0.75 * twn_cos, "fc1's cosine distance to its ternary weights: TWN {twn_cos}, HQ {hq_cos}");
}

/// A quantized linear layer of at least `Cutoffs::packed_training_min_weights` weights runs its
/// training forward product on packed weights on CPU adapters (the cutoff set below its
/// size, whatever this adapter's): the logits agree with the
/// dequantized product's (TWN and TTQ, per-layer and per-channel scales), BinaryRelax's
/// relaxed weights keep the dense product, and the model learns.
#[test]
fn large_quantized_layers_train_on_packed_weights() {
    let spec = |q: QuantSpec| {
        let text = "name = \"wide\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 400\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"linear\"\n";
        let mut s = ModelSpec::from_toml(text, "test").unwrap();
        s.quant = Some(q);
        s
    };
    let wide = aer::kernels::TernaryVariant::for_gpu(gpu()) == aer::kernels::TernaryVariant::Wide;
    let data = mnist(2000);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    data.val.head(32).gather(&(0..32).collect::<Vec<u32>>(), &mut xs, &mut ys);
    for (method, scales) in [(TernaryMethod::Twn, ScaleGranularity::Layer), (TernaryMethod::Ttq, ScaleGranularity::Channel)] {
        // Whatever this adapter's cutoff, fc1 (313,600 weights) packs from 300,000 on.
        let pack_fc1 = |m: &mut Model| m.use_cutoffs(Cutoffs { packed_training_min_weights: 300_000, ..m.cutoffs().clone() });
        let (mut model, _) = train_with(&spec(QuantSpec { scales, ..QuantSpec::new(method) }), &data, 1, pack_fc1);
        let packed = model.packed_in_training(gpu());
        assert_eq!(packed, if wide { vec![model.params[0].name.clone()] } else { Vec::<String>::new() }, "{method:?}: layers on packed weights");
        let logits = |m: &Model| block_on(gpu().read_f32(&m.forward(gpu(), gpu().upload(&xs, &[32, 1, 28, 28]), None))).unwrap();
        let with_packing = logits(&model);
        model.use_packed_training(false);
        assert!(model.packed_in_training(gpu()).is_empty());
        let dense = logits(&model);
        let scale = dense.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, b) in with_packing.iter().zip(&dense) {
            assert!((a - b).abs() <= 1e-5 * scale, "{method:?}: packed {a}, dense {b}");
        }
        model.use_packed_training(true);
        let acc = block_on(evaluate(gpu(), &model, &data.val, 256)).unwrap().accuracy;
        assert!(acc > 0.8, "{method:?}: validation accuracy {acc} after an epoch on packed weights");
        model.quant.as_ref().unwrap().set_relaxation(Some(1.0), 0.0);
        assert!(model.packed_in_training(gpu()).is_empty(), "relaxed weights are not ternary");
    }
}
