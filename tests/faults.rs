//! Parameter corruption end to end: gradient ascent on the weights finds a larger loss
//! increase than random perturbations of the same size, grows with the radius, does nothing
//! at radius 0, and leaves the weights exactly as they were.

mod common;

use aer::faults::{corrupt, vulnerability_table, CorruptionConfig};
use aer::kernels::Norm;
use aer::nn::Model;
use aer::train::Checkpoint;
use common::{gpu, mnist};
use pollster::block_on;
use std::path::Path;

fn demo_mlp() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/mlp-demo.safetensors");
    Checkpoint::load(&path).unwrap().restore(gpu()).unwrap().0
}

#[test]
fn gradient_corruption_beats_random_and_grows_with_the_radius() {
    let model = demo_mlp();
    let data = mnist().test.head(128);
    let (x, y, _) = aer::attack::upload_range(gpu(), &data, 0..data.len());
    let before = block_on(model.download(gpu())).unwrap();
    for norm in [Norm::L2, Norm::Linf] {
        let mut last = -1.0;
        for rho in [0.0, 0.005, 0.02] {
            let cfg = CorruptionConfig { norm, rho, steps: 5, random: 4, seed: 1 };
            let rows = block_on(vulnerability_table(gpu(), &model, &x, &y, &cfg)).unwrap();
            assert_eq!(rows.len(), 4, "three weight tensors and all weights");
            for r in &rows {
                assert!(r.worst_loss >= r.clean_loss, "{norm:?} rho {rho} {}: ascent ended below the clean loss", r.scope);
                if rho == 0.0 {
                    assert_eq!(r.radius, 0.0);
                    assert_eq!((r.worst_loss, r.random_loss_max), (r.clean_loss, r.clean_loss), "{norm:?} {}: radius 0 must change nothing", r.scope);
                } else {
                    assert!(r.gradient_beats_random(), "{norm:?} rho {rho} {}: gradient {} vs random {}", r.scope, r.worst_loss, r.random_loss_max);
                }
            }
            let all = rows.last().unwrap();
            assert!(all.worst_loss >= last, "{norm:?}: loss under corruption fell from {last} to {} at rho {rho}", all.worst_loss);
            last = all.worst_loss;
        }
    }
    assert_eq!(block_on(model.download(gpu())).unwrap(), before, "corruption must restore the weights exactly");
    let bias = model.params.iter().position(|p| p.name == "fc1.bias").unwrap();
    assert!(block_on(corrupt(gpu(), &model, &x, &y, &[bias], &CorruptionConfig::default())).is_err(), "biases are not corruption targets");
}

/// Training through corrupted weights (each step's gradient taken rho times each layer's norm
/// along it) leaves a model whose worst-case corrupted loss is lower than plain training's,
/// at a comparable clean accuracy.
#[test]
fn corruption_resistant_training_lowers_the_corrupted_loss() {
    use aer::faults::WeightPerturbConfig;
    let s = common::mnist_head(2000, 256);
    let (x, y, _) = aer::attack::upload_range(gpu(), &s.val, 0..s.val.len());
    let cfg_corrupt = CorruptionConfig { norm: Norm::L2, rho: 0.05, steps: 5, random: 2, seed: 0 };
    let run = |weight_perturb: Option<WeightPerturbConfig>| {
        let cfg = common::adam_config(3, 3e-3, 2);
        let cfg = match weight_perturb {
            Some(wp) => cfg.with(&wp),
            None => cfg,
        };
        let model = common::train(&common::mlp100(), &s.train, &cfg, &mut |_| {});
        let weights: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
        block_on(corrupt(gpu(), &model, &x, &y, &weights, &cfg_corrupt)).unwrap()
    };
    let plain = run(None);
    let resistant = run(Some(WeightPerturbConfig { rho: 0.02 }));
    eprintln!("plain: clean {:.3} corrupted {:.3}; resistant: clean {:.3} corrupted {:.3}", plain.clean_accuracy, plain.worst_loss, resistant.clean_accuracy, resistant.worst_loss);
    assert!(resistant.clean_accuracy > plain.clean_accuracy - 0.05, "clean accuracy {} vs plain {}", resistant.clean_accuracy, plain.clean_accuracy);
    assert!(resistant.worst_loss < 0.8 * plain.worst_loss, "corrupted loss {} not clearly below plain training's {}", resistant.worst_loss, plain.worst_loss);
}

/// Bit flips: rate 0 changes nothing (f32) or only rounds (f16), faults cost accuracy as the
/// rate grows, packed ternary codes flip too (and need a packed model); the exact multiplier
/// matches float accuracy and truncated ones err more with more bits dropped.
#[test]
fn bit_flips_and_multipliers_degrade_as_faults_grow() {
    use aer::faults::{bit_flip_curve, multiplier_curve, ProductTable, Storage};
    use aer::nn::ModelSpec;
    use aer::nn::quant::{QuantSpec, TernaryMethod};
    let mut model = demo_mlp();
    let data = mnist().test.head(200);
    let clean = block_on(aer::train::evaluate(gpu(), &model, &data, 256)).unwrap().accuracy;
    let rates = [0.0, 1e-5, 1e-2];
    let f32_curve = block_on(bit_flip_curve(gpu(), &mut model, &data, Storage::F32, &rates, 2, None, 0, 256)).unwrap();
    assert_eq!(f32_curve[0].accuracy, clean, "rate 0 must leave the model as it is");
    assert!(f32_curve[2].accuracy < 0.5 && f32_curve[2].accuracy < f32_curve[0].accuracy, "{f32_curve:?}");
    let f16 = block_on(bit_flip_curve(gpu(), &mut model, &data, Storage::F16, &rates[..1], 1, None, 0, 256)).unwrap();
    assert!((f16[0].accuracy - clean).abs() <= 0.01, "f16 storage alone: {} vs {clean}", f16[0].accuracy);
    assert_eq!(block_on(aer::train::evaluate(gpu(), &model, &data, 256)).unwrap().accuracy, clean, "faults must be undone");
    assert!(block_on(bit_flip_curve(gpu(), &mut model, &data, Storage::Ternary, &rates, 1, None, 0, 256)).is_err(), "ternary storage needs a packed model");

    let tables = [ProductTable::exact(), ProductTable::truncated(6), ProductTable::truncated(12)];
    let m = block_on(multiplier_curve(gpu(), &mut model, &data, &tables, None, 256)).unwrap();
    assert!((m[0].accuracy - clean).abs() <= 0.02, "8-bit exact products: {} vs float {clean}", m[0].accuracy);
    assert!(m[2].accuracy < m[0].accuracy, "{m:?}");
    assert_eq!(block_on(aer::train::evaluate(gpu(), &model, &data, 256)).unwrap().accuracy, clean, "the multiplier must be removed");

    // Packed ternary codes: flipping every bit changes the model; rate 0 does not.
    let mut spec = ModelSpec::load("mlp").unwrap();
    spec.quant = Some(QuantSpec::new(TernaryMethod::Twn));
    let mut ternary = Model::new(gpu(), &spec, [1, 28, 28], 10, 1).unwrap();
    ternary.use_packed(gpu()).unwrap();
    let (x, _, _) = aer::attack::upload_range(gpu(), &data, 0..data.len());
    let logits = |m: &Model| block_on(gpu().read_f32(&m.forward(gpu(), x.clone(), None))).unwrap();
    let before = logits(&ternary);
    let c = block_on(bit_flip_curve(gpu(), &mut ternary, &data, Storage::Ternary, &[0.0, 0.3], 1, None, 0, 256)).unwrap();
    assert_eq!(c.len(), 2);
    assert_eq!(logits(&ternary), before, "packed codes restored");
}
