//! Batch normalization folded for inference computes the model's evaluation function: the
//! logits of ResNet-20 (every batchnorm after a convolution, folded into its weights) and of
//! PreAct ResNet-18 (batchnorms after additions, which become per-channel affines) before and
//! after folding, with batchnorm parameters and running statistics away from their start.

use aer::gpu::{AdapterChoice, Gpu};
use aer::nn::{fold_batchnorm, LayerSpec, Model, ModelSpec};
use pollster::block_on;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// Eval logits of `preset` on random images before and after folding, compared; the folding.
fn fold_preset(preset: &str, input: [usize; 3], negative_scales: bool) -> aer::nn::Folding {
    let gpu = block_on(Gpu::new(&AdapterChoice::from_env())).unwrap();
    let spec = ModelSpec::load(preset).unwrap();
    let model = Model::new(&gpu, &spec, input, 10, 5).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for p in model.params.iter().filter(|p| p.name.contains("bn") || p.name.contains("shortcut.1")) {
        let (lo, hi) = match () {
            _ if p.name.ends_with(".running_var") => (0.2, 2.0),
            _ if p.name.ends_with(".weight") && !negative_scales => (0.2, 2.0),
            _ => (-2.0, 2.0),
        };
        let v: Vec<f32> = (0..p.value.numel()).map(|_| rng.random_range(lo..hi)).collect();
        gpu.write(&p.value, &v);
    }
    let shape = [3, input[0], input[1], input[2]];
    let x: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(0.0..1.0)).collect();
    let logits = |m: &Model| block_on(gpu.read_f32(&m.forward(&gpu, gpu.upload(&x, &shape), None))).unwrap();
    let before = logits(&model);
    let mut values: HashMap<String, Vec<f32>> = block_on(model.download(&gpu)).unwrap().into_iter().map(|(n, _, v)| (n, v)).collect();
    let (folded_spec, folding) = fold_batchnorm(&spec, input, 10, &mut values).unwrap();
    assert!(folding.kept.is_empty() && !folded_spec.layers.iter().any(|l| matches!(l, LayerSpec::Batchnorm { .. })), "{folding}");
    let folded = Model::from_tensors(&gpu, &folded_spec, input, 10, &values).unwrap();
    let after = logits(&folded);
    let scale = before.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-4 * scale, "{preset}: logits differ by {worst} (largest {scale}) after folding: {before:?} vs {after:?}");
    folding
}

#[test]
fn resnet20_folds_every_batchnorm_into_its_convolution() {
    let f = fold_preset("resnet20", [1, 12, 12], true);
    // The stem, two per basic block (9 blocks) and the two projection shortcuts'.
    assert_eq!((f.into_weights.len(), f.as_affine.len()), (21, 0), "{f}");
}

#[test]
fn preact_resnet18_folds_batchnorms_after_additions_into_affines() {
    let f = fold_preset("preact-resnet18", [3, 8, 8], false);
    assert!(!f.into_weights.is_empty() && !f.as_affine.is_empty(), "{f}");
}
