//! Fault injection for the hardware questions asked of compressed models: accuracy and robust
//! accuracy as random bit flips in the stored weights grow (f32, f16, or packed ternary codes
//! with their scales), and under approximate 8-bit multipliers. Each fault pattern is drawn
//! on the GPU from a seed, evaluated, and undone.

use super::multiplier::{ProductTable, TableError};
use crate::attack::{evaluate_robustness, AttackConfig};
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, PackedTernary};
use crate::nn::Model;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How the weights are stored when their bits flip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    // The command line lists the names alone: `value(help = None)` keeps these docs out of it.
    F32,
    /// Rounded to half precision (at rate 0 this measures f16 storage alone).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    F16,
    /// Packed ternary codes and their f32 scales (other parameters as f32).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Ternary,
}

/// One point of a fault curve, averaged over trials (fault patterns).
#[derive(Clone, Debug, Serialize)]
pub struct FaultPoint {
    /// The storage and flip probability, or the multiplier's name.
    pub label: String,
    /// Per-bit flip probability (0 for multipliers).
    pub rate: f64,
    pub accuracy: f64,
    pub accuracy_min: f64,
    /// Under the attack (computed on the faulty model), when one was given.
    pub robust_accuracy: Option<f64>,
    pub trials: usize,
    /// How far a multiplier is from exact.
    pub multiplier_error: Option<TableError>,
}

async fn measure(gpu: &Gpu, model: &Model, data: &Dataset, attack: Option<&AttackConfig>, batch: usize) -> Result<(f64, Option<f64>)> {
    let attacks: Vec<AttackConfig> = attack.into_iter().cloned().collect();
    let r = evaluate_robustness(gpu, model, data, &attacks, batch, &mut |_, _| {}).await?;
    Ok((r.clean_accuracy(), attack.map(|_| r.worst_accuracy())))
}

/// Accuracy (and robust accuracy under `attack`) of `model` on `data` with every stored bit
/// flipped with probability `rate`, for each rate, averaged over `trials` fault patterns.
#[allow(clippy::too_many_arguments)]
pub async fn bit_flip_curve(
    gpu: &Gpu,
    model: &mut Model,
    data: &Dataset,
    storage: Storage,
    rates: &[f64],
    trials: usize,
    attack: Option<&AttackConfig>,
    seed: u64,
    batch: usize,
) -> Result<Vec<FaultPoint>> {
    if storage == Storage::Ternary && model.packed().is_empty() {
        return Err(AerError::Invalid("ternary storage needs a packed model: give a checkpoint written by `aer quantize`".into()));
    }
    let trials = trials.max(1);
    let packed: HashMap<usize, PackedTernary> = model.packed().clone();
    let originals: Vec<Tensor> = model.params.iter().map(|p| gpu.duplicate(&p.value)).collect();
    let mut points = Vec::new();
    for &rate in rates {
        let mut acc = Vec::new();
        let mut robust = Vec::new();
        for t in 0..trials {
            let s = (seed as u32) ^ (t as u32 + 1).wrapping_mul(0x9e37_79b9) ^ rate.to_bits() as u32;
            for (i, p) in model.params.iter().enumerate() {
                let s = s ^ (i as u32).wrapping_mul(0x85eb_ca6b);
                match storage {
                    Storage::F16 => k::flip_bits_f16(gpu, &p.value, rate as f32, s),
                    // Packed weights are stored as codes; their latent f32 copy is not.
                    Storage::Ternary if packed.contains_key(&i) => {}
                    _ => k::flip_bits(gpu, &p.value, rate as f32, s),
                }
            }
            if storage == Storage::Ternary {
                let flipped = packed
                    .iter()
                    .map(|(&i, pk)| {
                        let f = PackedTernary { words: gpu.duplicate(&pk.words), scale_pos: gpu.duplicate(&pk.scale_pos), scale_neg: gpu.duplicate(&pk.scale_neg), asymmetric: true, ..pk.clone() };
                        let s = s ^ (i as u32).wrapping_mul(0xc2b2_ae35);
                        k::flip_bits(gpu, &f.words, rate as f32, s);
                        k::flip_bits(gpu, &f.scale_pos, rate as f32, s ^ 1);
                        k::flip_bits(gpu, &f.scale_neg, rate as f32, s ^ 2);
                        (i, f)
                    })
                    .collect();
                model.set_packed(gpu, flipped);
            }
            model.weights_changed(gpu);
            let (a, r) = measure(gpu, model, data, attack, batch).await?;
            acc.push(a);
            robust.extend(r);
            for (p, o) in model.params.iter().zip(&originals) {
                gpu.copy(o, &p.value);
            }
            model.set_packed(gpu, packed.clone());
            model.weights_changed(gpu);
        }
        points.push(FaultPoint {
            label: format!("{storage:?} flips {rate:e}").to_lowercase(),
            rate,
            accuracy: acc.iter().sum::<f64>() / acc.len() as f64,
            accuracy_min: acc.iter().copied().fold(f64::INFINITY, f64::min),
            robust_accuracy: (!robust.is_empty()).then(|| robust.iter().sum::<f64>() / robust.len() as f64),
            trials,
            multiplier_error: None,
        });
    }
    Ok(points)
}

/// Accuracy (and robust accuracy under `attack`; its gradients use exact products) with every
/// weight product computed through each multiplier's table.
pub async fn multiplier_curve(gpu: &Gpu, model: &mut Model, data: &Dataset, tables: &[ProductTable], attack: Option<&AttackConfig>, batch: usize) -> Result<Vec<FaultPoint>> {
    let mut points = Vec::new();
    for t in tables {
        model.use_multiplier(Some(t.upload(gpu)));
        let measured = measure(gpu, model, data, attack, batch).await;
        model.use_multiplier(None);
        let (accuracy, robust_accuracy) = measured?;
        points.push(FaultPoint { label: t.name.clone(), rate: 0.0, accuracy, accuracy_min: accuracy, robust_accuracy, trials: 1, multiplier_error: Some(t.error()) });
    }
    Ok(points)
}
