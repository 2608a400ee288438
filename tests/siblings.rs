//! Transfer attacks through siblings and similarity-unpairing: unpairing's penalty gradient
//! (second order, by finite differences along the input) against a finite difference of the
//! penalty over the weights on a tiny model; a model as its own sibling transfers exactly as
//! the white-box attack does; and the bad input `aer siblings` and `aer train --unpair-full`
//! refuse with one clear error each.

mod common;

use aer::attack::{gradient_cosines, prior_square, transfer_attack, unpairing_gradients, AttackConfig, UnpairConfig, AttackName, Method};
use aer::kernels::{self, AdvLoss, Norm};
use aer::nn::{Model, ModelSpec};
use aer::train::Checkpoint;
use common::{aer, fails_with, gpu, mnist, tmpdir, write_tiny};
use pollster::block_on;
use std::collections::HashMap;
use std::path::Path;

fn demo_mlp() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/mlp-demo.safetensors");
    Checkpoint::load(&path).unwrap().restore(gpu()).unwrap().0
}

fn read(t: &aer::gpu::Tensor) -> Vec<f32> {
    block_on(gpu().read_f32(t)).unwrap()
}

fn values(m: &Model) -> HashMap<String, Vec<f32>> {
    m.params.iter().map(|p| (p.name.clone(), read(&p.value))).collect()
}

fn grads(m: &Model) -> Vec<f64> {
    m.params.iter().flat_map(|p| read(&p.grad)).map(|v| v as f64).collect()
}

/// mean_i cos(grad_x CE_s, grad_x CE_f)^2, from the input gradients read back (f64 on the CPU).
fn penalty(sibling: &Model, full: &Model, x: &aer::gpu::Tensor, y: &aer::gpu::Tensor) -> f64 {
    let g = read(&aer::attack::ce_input_gradient(gpu(), sibling, x, y));
    let f = read(&aer::attack::ce_input_gradient(gpu(), full, x, y));
    let d = x.numel() / x.shape()[0];
    let cos: Vec<f64> = g
        .chunks(d)
        .zip(f.chunks(d))
        .map(|(a, b)| {
            let dot: f64 = a.iter().zip(b).map(|(&u, &v)| u as f64 * v as f64).sum();
            let n = |r: &[f32]| r.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
            dot / (n(a) * n(b))
        })
        .collect();
    cos.iter().map(|c| c * c).sum::<f64>() / cos.len() as f64
}

#[test]
fn unpairing_gradient_matches_finite_differences() {
    let spec = ModelSpec::from_toml("name = \"tiny\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 16\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"linear\"\n", "tiny").unwrap();
    let data = mnist().test.spread(8);
    let full = Model::new(gpu(), &spec, data.shape, 10, 1).unwrap();
    // The sibling: the full model's weights plus noise, so the cosines are far from 0 and 1.
    let sibling = Model::new(gpu(), &spec, data.shape, 10, 1).unwrap();
    let noise = Model::new(gpu(), &spec, data.shape, 10, 2).unwrap();
    let (fv, nv) = (values(&full), values(&noise));
    let theta: HashMap<String, Vec<f32>> = fv.iter().map(|(k, v)| (k.clone(), v.iter().zip(&nv[k]).map(|(a, b)| a + 0.5 * b).collect())).collect();
    sibling.set_values(gpu(), &theta).unwrap();
    let (x, y, labels) = aer::attack::upload_range(gpu(), &data, 0..data.len());
    let m = labels.len();
    let (loss, correct) = (gpu().empty(&[m]), gpu().empty_u32(&[m]));

    // Weight 0: exactly the clean loss's gradient.
    unpairing_gradients(gpu(), &sibling, &full, &x, &y, &UnpairConfig { weight: 0.0, h: 1e-3, min_grad: 0.0, ..Default::default() }, &loss, &correct, 0);
    let clean = grads(&sibling);
    let mut tape = sibling.tape();
    let logits = sibling.forward(gpu(), x.clone(), Some(&mut tape));
    let dlogits = gpu().empty(logits.shape());
    kernels::softmax_xent(gpu(), &logits, &y, &dlogits, &gpu().empty(&[m]), &gpu().empty_u32(&[m]), m, 10, 0);
    sibling.backward(gpu(), tape, dlogits, false);
    let reference = grads(&sibling);
    let scale = reference.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    for (a, b) in clean.iter().zip(&reference) {
        assert!((a - b).abs() <= 1e-5 * scale, "weight 0 should give the clean gradient: {a} vs {b}");
    }

    // The penalty's part of the gradient, and its finite difference along that direction.
    let weight = 1.0f32;
    let stats = unpairing_gradients(gpu(), &sibling, &full, &x, &y, &UnpairConfig { weight, h: 1e-3, min_grad: 0.0, ..Default::default() }, &loss, &correct, 0);
    let cos: Vec<f32> = read(&stats).chunks(4).map(|s| s[0]).collect();
    let mean_abs = cos.iter().map(|c| c.abs()).sum::<f32>() / m as f32;
    assert!(mean_abs > 0.2 && cos.iter().all(|c| c.abs() < 0.999), "cosines {cos:?} should be away from 0 and 1 for this check");
    let pen: Vec<f64> = grads(&sibling).iter().zip(&clean).map(|(t, c)| (t - c) / weight as f64).collect();
    let norm = pen.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(norm > 1e-4, "the penalty's gradient vanished: {norm}");
    let eps = 1e-3;
    let at = |s: f64| {
        let mut off = 0;
        let moved: HashMap<String, Vec<f32>> = sibling
            .params
            .iter()
            .map(|p| {
                let v = &theta[&p.name];
                let r = v.iter().enumerate().map(|(i, &w)| (w as f64 + s * eps * pen[off + i] / norm) as f32).collect();
                off += v.len();
                (p.name.clone(), r)
            })
            .collect();
        sibling.set_values(gpu(), &moved).unwrap();
        penalty(&sibling, &full, &x, &y)
    };
    let fd = (at(1.0) - at(-1.0)) / (2.0 * eps);
    // Along the unit direction of the gradient the derivative is the gradient's norm.
    assert!((fd - norm).abs() <= 0.05 * norm, "finite difference {fd} vs the penalty gradient's norm {norm}");
}

#[test]
fn a_model_transfers_to_itself_as_the_white_box_attack() {
    let model = demo_mlp();
    let data = mnist().test.spread(40);
    let pgd = AttackConfig::pgd(Norm::Linf, 0.1, 0.01, 20, 0);
    let t = block_on(transfer_attack(gpu(), &model, &model, &data, &[pgd], 64, &mut |_, _| {})).unwrap();
    assert_eq!(t.attacks[0].source_fooled, t.attacks[0].target_fooled);
    assert_eq!(t.agreement(0), 1.0);
    assert!(t.success(Some(0)) > 0.2, "PGD at eps 0.1 should flip some of the demo mlp's examples: {}", t.success(Some(0)));
    let cos = block_on(gradient_cosines(gpu(), &model, &model, &data, 64)).unwrap();
    assert!(cos.iter().all(|&c| c > 0.9999), "a model's gradient is parallel to itself: {cos:?}");
    // Square seeded with the model's own examples: those that fooled it do at the first query.
    let square = AttackConfig { name: AttackName::Square, method: Method::Square, norm: Norm::Linf, loss: AdvLoss::Margin, eps: 0.1, step: 0.0, steps: 20, restarts: 1, random_start: false, targeted: false, seed: 0 };
    let q = block_on(prior_square(gpu(), &model, &data, &square, Some(&t.crafted), 64)).unwrap();
    for i in 0..data.len() {
        if t.target_clean_correct[i] && t.attacks[0].target_fooled[i] {
            assert!(q.fooled[i] && q.queries[i] == 1, "example {i}: fooled {} after {} queries", q.fooled[i], q.queries[i]);
        }
    }
    let plain = block_on(prior_square(gpu(), &model, &data, &square, None, 64)).unwrap();
    assert!(q.success() > plain.success(), "the prior should help: {} vs {}", q.success(), plain.success());
}

#[test]
fn siblings_and_unpairing_refuse_models_that_do_not_match() {
    let d = tmpdir("siblings");
    // A model of 5x5 inputs and 3 classes.
    let small = d.join("small-data");
    std::fs::create_dir_all(&small).unwrap();
    write_tiny(&small, 30, 5);
    let other_data = d.join("other-data");
    let (ok, text) = aer(&["train", "--data", small.to_str().unwrap(), "--val-size", "6", "--epochs", "1", "--batch-size", "8", "--out", other_data.to_str().unwrap()]);
    assert!(ok, "{text}");
    // A model of MNIST's inputs but another architecture.
    let spec = d.join("mlp32.toml");
    std::fs::write(&spec, "name = \"mlp32\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 32\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"linear\"\n").unwrap();
    let other_arch = d.join("other-arch");
    let (ok, text) = aer(&["train", "--model", spec.to_str().unwrap(), "--val-size", "100", "--epochs", "1", "--out", other_arch.to_str().unwrap()]);
    assert!(ok, "{text}");
    let demo = "assets/models/mlp-demo.safetensors";
    let small_ck = other_data.join("best.safetensors");
    let arch_ck = other_arch.join("best.safetensors");
    let out = d.join("out");
    let sib = |sibling: &str, baseline: &str| -> Vec<String> {
        ["siblings", "--full", demo, "--sibling", sibling, "--baseline", baseline, "--n", "10", "--out", out.to_str().unwrap()].iter().map(|s| s.to_string()).collect()
    };
    let args = sib(small_ck.to_str().unwrap(), demo);
    fails_with(&args.iter().map(String::as_str).collect::<Vec<_>>(), &["other-data/best.safetensors", "[1, 5, 5] with 3 classes", "[1, 28, 28] with 10 classes", "compressed copy"]);
    let args = sib(demo, arch_ck.to_str().unwrap());
    fails_with(&args.iter().map(String::as_str).collect::<Vec<_>>(), &["other-arch/best.safetensors", "'mlp32'", "another architecture", "--seed 1"]);
    fails_with(
        &["train", "--init", demo, "--unpair-full", small_ck.to_str().unwrap(), "--val-size", "100", "--epochs", "1", "--out", d.join("unpaired").to_str().unwrap()],
        &["other-data/best.safetensors", "[1, 5, 5] with 3 classes", "sibling being unpaired"],
    );
    fails_with(&["train", "--init", demo, "--unpair-full", demo, "--unpair-weight=-1", "--val-size", "100", "--epochs", "1", "--out", d.join("unpaired").to_str().unwrap()], &["unpair weight -1"]);
    assert!(!out.join("siblings.json").exists());
}
