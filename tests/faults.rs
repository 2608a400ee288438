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
