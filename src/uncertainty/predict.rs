//! A model's logits over a whole data set, and softmax probabilities from them. Batches are
//! those of evaluation (`train::forward_batches`: as many examples as fit the adapter's
//! binding), all logits read back once at the end. A pass may run with dropout active (Monte
//! Carlo dropout) or on augmented images (test-time augmentation).

use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::kernels::{self, Augment};
use crate::nn::Model;
use crate::reference::common::pcg;

/// Logits [examples, classes], row-major, with the examples' labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Logits {
    pub classes: usize,
    pub values: Vec<f32>,
    pub labels: Vec<u32>,
}

/// Probabilities [examples, classes], row-major (each row sums to 1), with the labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Probabilities {
    pub classes: usize,
    pub values: Vec<f64>,
    pub labels: Vec<u32>,
}

impl Logits {
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.values.chunks_exact(self.classes)
    }

    /// softmax(logits / temperature) per example, computed stably in f64.
    pub fn probabilities(&self, temperature: f64) -> Probabilities {
        let mut values = Vec::with_capacity(self.values.len());
        for row in self.rows() {
            let max = row.iter().fold(f64::NEG_INFINITY, |m, &z| m.max(z as f64 / temperature));
            let start = values.len();
            values.extend(row.iter().map(|&z| (z as f64 / temperature - max).exp()));
            let sum: f64 = values[start..].iter().sum();
            values[start..].iter_mut().for_each(|p| *p /= sum);
        }
        Probabilities { classes: self.classes, values, labels: self.labels.clone() }
    }
}

impl Probabilities {
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.values.chunks_exact(self.classes)
    }

    /// The mean of several predictions of the same examples (an ensemble's, or several passes'
    /// of one model): averaged in probability.
    pub fn mean(all: &[Probabilities]) -> Result<Probabilities> {
        let first = all.first().ok_or_else(|| AerError::Invalid("averaging no predictions".into()))?;
        if let Some(p) = all.iter().find(|p| p.classes != first.classes || p.labels != first.labels) {
            return Err(AerError::Invalid(format!("averaging predictions of different examples or classes ({} and {} classes, {} and {} examples)", first.classes, p.classes, first.labels.len(), p.labels.len())));
        }
        let k = all.len() as f64;
        let values = (0..first.values.len()).map(|i| all.iter().map(|p| p.values[i]).sum::<f64>() / k).collect();
        Ok(Probabilities { classes: first.classes, values, labels: first.labels.clone() })
    }
}

/// How one pass sees the model and its inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pass {
    /// Dropout active with masks drawn from this seed (Monte Carlo dropout); batch
    /// normalisation keeps its running statistics.
    pub dropout_seed: Option<u32>,
    /// Each image augmented with draws from this seed (test-time augmentation).
    pub augment: Option<Augmentation>,
}

/// Test-time augmentation: the training augmentation's settings (random crop with zero
/// padding, flip) with the seed its draws come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augmentation {
    pub settings: Augment,
    pub seed: u32,
}

impl Augmentation {
    /// The usual augmentation for images of `shape` (`Augment::usual_for`), drawn from `seed`.
    pub fn for_shape(shape: [usize; 3], seed: u32) -> Augmentation {
        Augmentation { settings: Augment::usual_for(shape), seed }
    }
}

/// Monte Carlo dropout needs a dropout layer: an error saying so when `model` has none.
pub fn check_dropout(model: &Model) -> Result<()> {
    if !model.has_dropout() {
        return Err(AerError::Invalid(format!("Monte Carlo dropout needs a dropout layer, and model '{}' has none: train a model with one (a `type = \"dropout\"` layer in its spec, e.g. the smallcnn preset)", model.spec.name)));
    }
    Ok(())
}

/// The model's logits for every example of `data`, in order, as `pass` says to run it.
pub async fn logits(gpu: &Gpu, model: &Model, data: &Dataset, batch_size: usize, pass: &Pass) -> Result<Logits> {
    if pass.dropout_seed.is_some() {
        check_dropout(model)?;
    }
    let [c, h, w] = data.shape;
    let mut batches = Vec::new();
    model.inference_dropout.set(pass.dropout_seed);
    let recorded = crate::train::forward_batches(
        gpu,
        model,
        data,
        batch_size,
        &mut |x, offset| match pass.augment {
            Some(a) => {
                let n = x.numel() / (c * h * w);
                let out = gpu.empty(x.shape());
                // The kernel draws from the seed and the example's place in its batch: the
                // batch's offset makes every example's draw its own.
                kernels::augment(gpu, &x, &out, [n, c, h, w], a.settings, pcg(a.seed ^ (offset as u32).wrapping_mul(0x9e37_79b9)));
                out
            }
            None => x,
        },
        &mut |_, _, logits| batches.push(logits),
    );
    model.inference_dropout.set(None);
    recorded?;
    let bytes = gpu.read_bytes(&batches.iter().collect::<Vec<_>>()).await?;
    let values: Vec<f32> = bytes.iter().flat_map(|b| bytemuck::pod_collect_to_vec::<u8, f32>(b)).collect();
    let labels = data.labels.iter().map(|&l| l as u32).collect();
    Ok(Logits { classes: model.classes, values, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_temperature_flattens() {
        let z = Logits { classes: 3, values: vec![1.0, 2.0, 3.0, 1000.0, 0.0, -1000.0], labels: vec![2, 0] };
        let p = z.probabilities(1.0);
        for row in p.rows() {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // softmax(1, 2, 3) by hand: e^k / (e + e^2 + e^3).
        let e = std::f64::consts::E;
        assert!((p.values[2] - e.powi(3) / (e + e * e + e.powi(3))).abs() < 1e-12);
        assert_eq!(p.values[3], 1.0, "a huge logit does not overflow");
        let hot = z.probabilities(0.5);
        let cold = z.probabilities(2.0);
        assert!(hot.values[2] > p.values[2] && p.values[2] > cold.values[2]);
    }

    #[test]
    fn mean_averages_in_probability_and_refuses_other_examples() {
        let a = Probabilities { classes: 2, values: vec![1.0, 0.0], labels: vec![0] };
        let b = Probabilities { classes: 2, values: vec![0.5, 0.5], labels: vec![0] };
        assert_eq!(Probabilities::mean(&[a.clone(), b]).unwrap().values, vec![0.75, 0.25]);
        let c = Probabilities { classes: 2, values: vec![0.5, 0.5, 0.5, 0.5], labels: vec![0, 1] };
        assert!(Probabilities::mean(&[a, c]).is_err());
    }
}
