//! Pruning methods beyond a fixed rule: HYDRA's scores and hard-concrete gates train on the
//! loss, end at exactly the requested sparsity and find masks magnitude would not; early-bird
//! tickets are drawn once the candidate masks settle.

mod common;

use aer::data::Splits;
use aer::nn::Model;
use aer::sparse::{learn_mask, magnitude_prune, HardConcreteGates, LearnedMaskConfig, LearnedMethod, Scope};
use aer::train::{evaluate, train_epoch, TrainConfig};
use common::{adam_config, gpu, mlp100, mnist_head};
use pollster::block_on;
use std::collections::HashMap;

fn values(m: &Model) -> HashMap<String, Vec<f32>> {
    block_on(m.download(gpu())).unwrap().into_iter().map(|(n, _, v)| (n, v)).collect()
}

fn val_accuracy(m: &Model, s: &Splits) -> f64 {
    block_on(evaluate(gpu(), m, &s.val, 256)).unwrap().accuracy
}

/// mlp100 trained for 4 epochs on 2,000 images, and its weights.
fn trained(s: &Splits, cfg: &TrainConfig) -> (Model, HashMap<String, Vec<f32>>) {
    let m = common::train(&mlp100(), &s.train, cfg, &mut |_| {});
    let v = values(&m);
    (m, v)
}

#[test]
fn hydra_keeps_exactly_k_frozen_weights_per_layer_and_beats_magnitude_before_fine_tuning() {
    let s = mnist_head(2000, 500);
    let cfg = adam_config(4, 3e-3, 1);
    let (mut m, dense) = trained(&s, &cfg);
    let sparsity = 0.98;
    let lm = LearnedMaskConfig { method: LearnedMethod::Hydra, sparsity, scope: Scope::Layer, epochs: 3, ..Default::default() };
    let mut losses = Vec::new();
    block_on(learn_mask(gpu(), &mut m, None, &s, &cfg, &lm, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &mut |_, st, _| losses.push(st.loss))).unwrap();
    assert!(losses.last() < losses.first(), "score training lowers the loss: {losses:?}");
    let pruned = values(&m);
    for (name, v) in &pruned {
        let d = &dense[name];
        if name.ends_with(".weight") {
            let kept = v.iter().filter(|&&x| x != 0.0).count();
            assert_eq!(kept, v.len() - (sparsity * v.len() as f64).round() as usize, "{name}: kept count");
            assert!(v.iter().zip(d).all(|(a, b)| *a == 0.0 || a == b), "{name}: a kept weight moved");
        } else {
            assert_eq!(v, d, "{name}: HYDRA trains scores only");
        }
    }
    let hydra = val_accuracy(&m, &s);
    let mut mag = Model::from_tensors(gpu(), &mlp100(), [1, 28, 28], 10, &dense).unwrap();
    magnitude_prune(gpu(), &mut mag, None, sparsity, Scope::Layer);
    let magnitude = val_accuracy(&mag, &s);
    assert!(hydra > magnitude + 0.05, "at {sparsity} before fine-tuning: HYDRA {hydra:.3}, magnitude {magnitude:.3}");
}

#[test]
fn hard_concrete_gates_close_under_the_l0_penalty_and_prune_exactly() {
    let s = mnist_head(2000, 500);
    let cfg = adam_config(3, 3e-3, 2);
    let (_, dense) = trained(&s, &cfg);
    let mut share = Vec::new();
    for l0 in [0.0, 50.0] {
        let mut m = Model::from_tensors(gpu(), &mlp100(), [1, 28, 28], 10, &dense).unwrap();
        let mut g = block_on(HardConcreteGates::new(gpu(), &mut m, &cfg.optimizer, 0.1, l0, 3.0, 2)).unwrap();
        let start = block_on(g.open_share(gpu())).unwrap();
        for e in 0..2 {
            block_on(train_epoch(gpu(), &m, &mut g, &s.train, &cfg, e, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
        }
        let end = block_on(g.open_share(gpu())).unwrap();
        share.push((start, end, val_accuracy(&m, &s)));
        if l0 > 0.0 {
            g.prune(gpu(), &mut m, None, 0.9, Scope::Global);
            let w: Vec<f32> = values(&m).into_iter().filter(|(n, _)| n.ends_with(".weight")).flat_map(|(_, v)| v).collect();
            assert_eq!(w.iter().filter(|&&x| x != 0.0).count(), w.len() - (0.9 * w.len() as f64).round() as usize, "kept count at 90%");
            assert!(val_accuracy(&m, &s) > 0.8, "the pruned gated model still classifies");
        }
    }
    let [(s0, e0, a0), (s1, e1, a1)] = share[..] else { unreachable!() };
    assert!(s0 > 0.95 && (s1 - s0).abs() < 1e-9, "gates start open: {s0}, {s1}");
    assert!(e1 < e0 - 0.1 && e1 < s1 - 0.1, "the penalty closes gates: open share {e0:.3} without it, {e1:.3} with it");
    assert!(a0 > 0.8 && a1 > 0.8, "gated models train: {a0:.3}, {a1:.3}");
}

#[test]
fn early_bird_ticket_is_drawn_once_the_masks_settle_and_then_trained() {
    use aer::sparse::{mask_distance, EarlyBirdConfig};
    assert_eq!(mask_distance(&[true, false, true, true], &[true, true, false, true]), 0.5);
    let s = mnist_head(2000, 500);
    let eb = EarlyBirdConfig { sparsity: 0.9, scope: Scope::Global, threshold: 0.1, window: 3, max_epochs: 6 };
    let cfg = adam_config(8, 3e-3, 4).with(&eb);
    let dir = common::tmpdir("early-bird");
    let mut notes = Vec::new();
    let r = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &s, &mlp100(), &cfg, &dir, &Default::default(), &mut |e| {
        if let aer::train::FitEvent::Note(n) = e {
            notes.push(n)
        }
    }))
    .unwrap();
    let distances: Vec<f64> = notes.iter().filter_map(|n| n.split("mask distance ").nth(1)?.split([' ', ',']).next()?.parse().ok()).collect();
    let drawn = notes.iter().position(|n| n.contains("early-bird ticket drawn")).unwrap_or_else(|| panic!("no ticket drawn: {notes:#?}"));
    // Drawn at the first epoch with a full window (3 candidates: the second distance on)
    // within the threshold.
    let (last, before) = distances.split_last().unwrap();
    assert!(*last < 0.1 && distances.len() >= 2 && before[1..].iter().all(|&d| d >= 0.1), "distances: {distances:?}");
    assert!(notes[drawn + 1..].iter().all(|n| !n.contains("mask distance")), "the search stops once drawn");
    // The best checkpoint is the trained ticket, at exactly the sparsity.
    let ck = aer::train::Checkpoint::load(&r.best_path).unwrap();
    let w: Vec<f32> = ck.tensors.iter().filter(|(n, _)| n.ends_with(".weight") && !n.starts_with("mask.")).flat_map(|(_, (_, v))| v.clone()).collect();
    assert_eq!(w.iter().filter(|&&x| x == 0.0).count(), (0.9 * w.len() as f64).round() as usize);
    assert!(r.best_epoch > distances.len() + 1 && r.test_accuracy > 0.85, "best epoch {} test {:.3}", r.best_epoch, r.test_accuracy);
}
