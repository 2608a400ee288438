//! Interval bounds end to end: exact at eps 0, they contain the logits of random points in the
//! ball and of PGD's examples, match the closed form of a linear model, agree across dense,
//! block-sparse and packed ternary layers, and give verified <= PGD <= clean; certified
//! training raises verified accuracy.

mod common;

use aer::attack::{evaluate_robustness, upload_range, AttackConfig};
use aer::data::Dataset;
use aer::kernels::Norm;
use aer::nn::{Model, ModelSpec};
use aer::nn::quant::{QuantLayers, QuantSpec, ScaleGranularity, TernaryMethod};
use aer::kernels::tune::Crossover;
use aer::train::Checkpoint;
use aer::verify::CertifiedConfig;
use aer::verify::verify;
use common::{adam_config, gpu, mlp100, mnist, mnist_head, train};
use pollster::block_on;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::path::Path;

fn checkpoint(name: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models").join(name);
    Checkpoint::load(&path).unwrap().restore(gpu()).unwrap().0
}

fn read(t: &aer::gpu::Tensor) -> Vec<f32> {
    block_on(gpu().read_f32(t)).unwrap()
}

/// (centre, radius, worst) of `model`'s bounds on the first examples of `data`.
fn bounds_of(model: &Model, data: &Dataset, eps: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (x, labels, _) = upload_range(gpu(), data, 0..data.len());
    let b = model.bounds(gpu(), &x, &labels, eps, None);
    (read(&b.centre), read(&b.radius), read(&b.worst))
}

fn logits_of(model: &Model, x: &[f32], shape: &[usize]) -> Vec<f32> {
    read(&model.forward(gpu(), gpu().upload(x, shape), None))
}

/// Every row of `logits` (examples `labels`) lies in the box and under the margin bounds,
/// up to float rounding.
#[track_caller]
fn assert_inside(what: &str, logits: &[f32], labels: &[u8], bounds: &(Vec<f32>, Vec<f32>, Vec<f32>), classes: usize) {
    let (c, r, worst) = bounds;
    let tol = |v: f32| 1e-4 * (1.0 + v.abs());
    for (e, &y) in labels.iter().enumerate() {
        let y = y as usize;
        for j in 0..classes {
            let i = e * classes + j;
            let z = logits[i];
            assert!(z >= c[i] - r[i] - tol(z) && z <= c[i] + r[i] + tol(z), "{what}: example {e} logit {j} = {z} outside [{}, {}]", c[i] - r[i], c[i] + r[i]);
            let gap = z - logits[e * classes + y];
            assert!(gap <= worst[i] + tol(gap), "{what}: example {e}: z_{j} - z_{y} = {gap} above its bound {}", worst[i]);
        }
    }
}

#[test]
fn bounds_are_exact_at_eps_zero() {
    let model = checkpoint("cnn-madry-e13.safetensors");
    let data = mnist().test.head(32);
    let (x, _, ys) = upload_range(gpu(), &data, 0..data.len());
    let logits = read(&model.forward(gpu(), x, None));
    let (c, r, worst) = bounds_of(&model, &data, 0.0);
    // The centre runs through the very kernels of the forward pass.
    assert_eq!(c, logits, "eps 0: the centre must be the logits");
    assert!(r.iter().all(|&v| v == 0.0), "eps 0: every radius must be 0");
    for (e, &y) in ys.iter().enumerate() {
        for j in 0..10 {
            let gap = logits[e * 10 + j] - logits[e * 10 + y as usize];
            assert!((worst[e * 10 + j] - gap).abs() <= 1e-4 * (1.0 + gap.abs()), "example {e} class {j}: margin bound {} vs {gap}", worst[e * 10 + j]);
        }
    }
}

#[test]
fn bounds_contain_random_points_and_pgd_examples() {
    let model = checkpoint("cnn-madry-e13.safetensors");
    let data = mnist().test.head(24);
    let eps = 0.03;
    let bounds = bounds_of(&model, &data, eps);
    let (x0, _, _) = upload_range(gpu(), &data, 0..data.len());
    let clean = read(&x0);
    let shape = x0.shape().to_vec();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for trial in 0..12 {
        // Uniform points and (every third trial) corners of the clipped box.
        let x: Vec<f32> = clean
            .iter()
            .map(|&v| {
                let (lo, hi) = ((v - eps).max(0.0), (v + eps).min(1.0));
                if trial % 3 == 2 { if rng.random() { lo } else { hi } } else { rng.random_range(lo..=hi) }
            })
            .collect();
        assert_inside(&format!("random point {trial}"), &logits_of(&model, &x, &shape), &data.labels, &bounds, 10);
    }
    let cfg = AttackConfig::pgd(Norm::Linf, eps, 2.5 * eps / 20.0, 20, 3);
    let r = block_on(evaluate_robustness(gpu(), &model, &data, &[cfg], 64, &mut |_, _| {})).unwrap();
    assert_inside("PGD-20 examples", &logits_of(&model, &r.adversarial, &shape), &data.labels, &bounds, 10);
}

/// flatten + linear: the box of z = W x + b over the clipped ball is c = W c0 + b,
/// r = |W| r0, and the margin bound is (w_j - w_y) . c0 + b_j - b_y + |w_j - w_y| . r0.
#[test]
fn linear_model_bounds_match_the_closed_form() {
    let (d, classes) = (40, 3);
    let spec = ModelSpec::from_toml("name = \"linear\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n", "test").unwrap();
    let w: Vec<f32> = (0..classes * d).map(|i| ((i * 37 % 23) as f32 - 11.0) / 10.0 + 0.05).collect();
    let b = vec![0.3, -0.2, 0.1];
    let tensors: HashMap<String, Vec<f32>> = [("fc1.weight".to_string(), w.clone()), ("fc1.bias".to_string(), b.clone())].into();
    let model = Model::from_tensors(gpu(), &spec, [1, 1, d], classes, &tensors).unwrap();
    let n = 6;
    // Pixels from 0 to 1: boxes clipped at both ends and interior ones.
    let images: Vec<u8> = (0..n * d).map(|i| (i * 53 % 256) as u8).collect();
    let data = Dataset { images, labels: (0..n).map(|i| (i % classes) as u8).collect(), shape: [1, 1, d] };
    let x: Vec<f32> = data.images.iter().map(|&p| p as f32 / 255.0).collect();
    let eps = 0.05f32;
    let (c, r, worst) = bounds_of(&model, &data, eps);
    for e in 0..n {
        let lo: Vec<f64> = x[e * d..(e + 1) * d].iter().map(|&v| (v - eps).max(0.0) as f64).collect();
        let hi: Vec<f64> = x[e * d..(e + 1) * d].iter().map(|&v| (v + eps).min(1.0) as f64).collect();
        let (c0, r0): (Vec<f64>, Vec<f64>) = lo.iter().zip(&hi).map(|(l, h)| ((h + l) / 2.0, (h - l) / 2.0)).unzip();
        let dot = |row: &dyn Fn(usize) -> f64, v: &[f64]| (0..d).map(|q| row(q) * v[q]).sum::<f64>();
        let y = e % classes;
        for j in 0..classes {
            let want_c = dot(&|q| w[j * d + q] as f64, &c0) + b[j] as f64;
            let want_r = dot(&|q| (w[j * d + q] as f64).abs(), &r0);
            let want_worst = if j == y { 0.0 } else { dot(&|q| (w[j * d + q] - w[y * d + q]) as f64, &c0) + (b[j] - b[y]) as f64 + dot(&|q| ((w[j * d + q] - w[y * d + q]) as f64).abs(), &r0) };
            let i = e * classes + j;
            for (what, got, want) in [("centre", c[i], want_c), ("radius", r[i], want_r), ("margin bound", worst[i], want_worst)] {
                assert!((got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()), "example {e} class {j}: {what} {got} vs closed form {want}");
            }
        }
    }
}

#[test]
fn block_sparse_and_packed_layers_give_the_dense_bounds() {
    let data = mnist().test.head(16);
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-4 * (1.0 + y.abs()));
    // Block-sparse conv2 and fc1 against the same masked weights on the dense kernels.
    let mut model = checkpoint("cnn-b16-s0.91.safetensors");
    let dense = bounds_of(&model, &data, 0.02);
    let moved = block_on(model.use_block_sparse(gpu(), &Crossover::always())).unwrap();
    assert!(!moved.is_empty());
    let sparse = bounds_of(&model, &data, 0.02);
    for (what, s, d) in [("centre", &sparse.0, &dense.0), ("radius", &sparse.1, &dense.1), ("margin bound", &sparse.2, &dense.2)] {
        assert!(close(s, d), "block-sparse {what} differs from dense");
    }
    // Packed ternary weights (asymmetric TTQ scales per channel) against the dequantized ones.
    for layers in [QuantLayers::Hidden, QuantLayers::All] {
        let mut spec = ModelSpec::load("mlp").unwrap();
        spec.quant = Some(QuantSpec { scales: ScaleGranularity::Channel, layers, ..QuantSpec::new(TernaryMethod::Ttq) });
        let mut model = Model::new(gpu(), &spec, [1, 28, 28], 10, 4).unwrap();
        let latent = bounds_of(&model, &data, 0.02);
        model.use_packed(gpu()).unwrap();
        let packed = bounds_of(&model, &data, 0.02);
        assert!(close(&packed.0, &latent.0) && close(&packed.1, &latent.1), "{layers:?}: packed logit box differs");
        match layers {
            QuantLayers::Hidden => assert!(close(&packed.2, &latent.2), "packed hidden layers: margin bounds differ"),
            // A packed last layer is not folded into the margins: looser, never tighter.
            _ => assert!(packed.2.iter().zip(&latent.2).all(|(p, l)| *p >= l - 1e-4 * (1.0 + l.abs())), "packed last layer: margin bounds tighter than the folded ones"),
        }
    }
}

#[test]
fn verified_stays_below_pgd_and_clean_and_falls_with_eps() {
    let model = checkpoint("cnn-madry-e13.safetensors");
    let data = mnist().test.head(64);
    let mut last = 2.0;
    for eps in [0.0, 0.005, 0.02, 0.1, 1.0] {
        let v = block_on(verify(gpu(), &model, &data, eps, 32, &mut |_, _| {})).unwrap();
        let robust = if eps > 0.0 {
            let cfg = AttackConfig::pgd(Norm::Linf, eps, 2.5 * eps / 10.0, 10, 0);
            Some(block_on(evaluate_robustness(gpu(), &model, &data, &[cfg], 64, &mut |_, _| {})).unwrap().worst_robust)
        } else {
            None
        };
        assert!(v.soundness(robust.as_deref()).is_empty(), "eps {eps}: {:?}", v.soundness(robust.as_deref()));
        let acc = v.verified_accuracy();
        assert!(acc <= last, "verified accuracy rose from {last} to {acc} at eps {eps}");
        if eps == 0.0 {
            assert_eq!(acc, v.clean_accuracy(), "at eps 0 exactly the correctly classified examples are verified");
        }
        last = acc;
    }
    assert_eq!(last, 0.0, "at eps 1 the box is the whole input range: nothing can be verified");
}

/// A few epochs of certified training at a small radius (clean warm-up, ramp, full radius)
/// verify far more validation examples than clean training does.
#[test]
fn certified_training_raises_verified_accuracy() {
    let s = mnist_head(2000, 256);
    let eps = 0.02;
    let run = |certify: Option<CertifiedConfig>| {
        let cfg = match &certify {
            Some(c) => adam_config(4, 3e-3, 1).with(c),
            None => adam_config(4, 3e-3, 1),
        };
        let model = train(&mlp100(), &s.train, &cfg, &mut |stats| assert_eq!(stats.verified_accuracy.is_some(), cfg.has("certify")));
        let v = block_on(verify(gpu(), &model, &s.val, eps, 256, &mut |_, _| {})).unwrap();
        (v.clean_accuracy(), v.verified_accuracy())
    };
    let (_, plain) = run(None);
    let (clean, verified) = run(Some(CertifiedConfig { eps, warmup_epochs: 1, ramp_epochs: 2, kappa_end: 0.5 }));
    eprintln!("clean training: verified {plain}; certified: clean {clean}, verified {verified}");
    assert!(clean > 0.7, "certified training's clean accuracy {clean}");
    assert!(verified > plain + 0.2, "verified accuracy {verified} not clearly above clean training's {plain}");
}
