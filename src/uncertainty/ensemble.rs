//! Averaging predictions in probability: deep ensembles (Lakshminarayanan et al. 2017: several
//! independently trained checkpoints of one architecture), Monte Carlo dropout (Gal &
//! Ghahramani 2016: several passes with dropout active at inference) and test-time
//! augmentation (several augmented copies of each image). Any mix: every member runs every
//! combination of dropout pass and augmented copy, and all of them are averaged.

use super::predict::{logits, Augmentation, Logits, Pass, Probabilities};
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::reference::common::pcg;
use crate::train::Checkpoint;

/// The passes each member runs: 1 each when None.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Views {
    /// Forward passes with dropout active (Monte Carlo dropout).
    pub mc_dropout: Option<usize>,
    /// Augmented copies of each image (test-time augmentation).
    pub tta: Option<usize>,
    /// Where the dropout masks and augmentations are drawn from.
    pub seed: u32,
}

impl Views {
    pub const PLAIN: Views = Views { mc_dropout: None, tta: None, seed: 0 };

    /// The passes, in order: every dropout pass with every augmented copy.
    pub fn passes(&self, shape: [usize; 3]) -> Vec<Pass> {
        let mut out = Vec::new();
        for d in 0..self.mc_dropout.unwrap_or(1) as u32 {
            for a in 0..self.tta.unwrap_or(1) as u32 {
                out.push(Pass {
                    dropout_seed: self.mc_dropout.map(|_| pcg(self.seed ^ d.wrapping_mul(0x85eb_ca6b))),
                    augment: self.tta.map(|_| Augmentation::for_shape(shape, pcg(self.seed ^ 0x5bd1_e995 ^ a.wrapping_mul(0xc2b2_ae35)))),
                });
            }
        }
        out
    }
}

/// Checkpoints that can be averaged: one architecture (the same layers), input shape and
/// class count; otherwise an error naming the two files and what differs. Each member is
/// (its name in messages, e.g. the file, and the checkpoint). Dense, pruned and ternary
/// versions of one architecture may be mixed.
pub fn check_members(members: &[(String, &Checkpoint)]) -> Result<()> {
    check_members_where(members, true)
}

/// `check_members` without the architecture: members of any layers that read one input shape
/// and predict one set of classes (a test-time ensemble that picks among different models).
pub fn check_member_shapes(members: &[(String, &Checkpoint)]) -> Result<()> {
    check_members_where(members, false)
}

fn check_members_where(members: &[(String, &Checkpoint)], same_layers: bool) -> Result<()> {
    let Some((first, a)) = members.first() else {
        return Err(AerError::Invalid("an ensemble needs at least one checkpoint".into()));
    };
    for (other, b) in &members[1..] {
        let differs = if same_layers && a.spec.layers != b.spec.layers {
            Some(format!("architecture: model '{}' and model '{}' have different layers", a.spec.name, b.spec.name))
        } else if a.input != b.input {
            Some(format!("input shape: {:?} and {:?}", a.input, b.input))
        } else if a.classes != b.classes {
            Some(format!("class count: {} and {}", a.classes, b.classes))
        } else {
            None
        };
        if let Some(d) = differs {
            return Err(AerError::Invalid(format!("{first} and {other} cannot be averaged in an ensemble: they differ in {d}; give checkpoints of one model trained on one data set")));
        }
    }
    Ok(())
}

/// The logits of every member on every pass of `views`, with the member's index.
pub async fn member_logits(gpu: &Gpu, models: &[&Model], data: &Dataset, batch_size: usize, views: &Views) -> Result<Vec<(usize, Logits)>> {
    let mut out = Vec::new();
    for (i, model) in models.iter().enumerate() {
        for pass in views.passes(data.shape) {
            out.push((i, logits(gpu, model, data, batch_size, &pass).await?));
        }
    }
    Ok(out)
}

/// The mean in probability of all passes, each member's logits divided by its temperature.
pub fn predict_mean(passes: &[(usize, Logits)], temperatures: &[f64]) -> Result<Probabilities> {
    let all: Vec<Probabilities> = passes.iter().map(|(m, z)| z.probabilities(temperatures.get(*m).copied().unwrap_or(1.0))).collect();
    Probabilities::mean(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::ModelSpec;

    fn checkpoint(preset: &str, input: [usize; 3], classes: usize) -> Checkpoint {
        Checkpoint {
            spec: ModelSpec::load(preset).unwrap(),
            input,
            classes,
            epoch: 0,
            config: Default::default(),
            optimizer_step: 0,
            tensors: Default::default(),
            packed: Default::default(),
            history: Vec::new(),
            temperature: None,
        }
    }

    #[test]
    fn mismatched_members_are_named_with_what_differs() {
        let a = checkpoint("mlp", [1, 28, 28], 10);
        let ok = [("a.safetensors".to_string(), &a), ("b.safetensors".to_string(), &a)];
        check_members(&ok).unwrap();
        for (b, what) in [(checkpoint("cnn", [1, 28, 28], 10), "architecture"), (checkpoint("mlp", [3, 32, 32], 10), "input shape"), (checkpoint("mlp", [1, 28, 28], 100), "class count")] {
            let e = check_members(&[("a.safetensors".to_string(), &a), ("b.safetensors".to_string(), &b)]).unwrap_err().to_string();
            assert!(e.contains("a.safetensors") && e.contains("b.safetensors") && e.contains(what), "{e}");
        }
    }

    #[test]
    fn passes_combine_dropout_and_augmentation() {
        let v = Views { mc_dropout: Some(3), tta: Some(2), seed: 1 };
        let p = v.passes([1, 28, 28]);
        assert_eq!(p.len(), 6);
        assert!(p.iter().all(|p| p.dropout_seed.is_some() && p.augment.is_some_and(|a| a.settings.crop == 2 && !a.settings.flip)));
        assert_ne!(p[0].dropout_seed, p[2].dropout_seed);
        assert_ne!(p[0].augment, p[1].augment);
        assert_eq!(Views::PLAIN.passes([3, 32, 32]), vec![Pass::default()]);
        let averaged = predict_mean(&[(0, Logits { classes: 2, values: vec![0.0, 0.0], labels: vec![0] }), (1, Logits { classes: 2, values: vec![2.0, 0.0], labels: vec![0] })], &[1.0, 2.0]).unwrap();
        let e = std::f64::consts::E;
        assert!((averaged.values[0] - (0.5 + e / (e + 1.0)) / 2.0).abs() < 1e-12, "the second member's logits are halved");
    }
}
