//! Dynamic sparse training from scratch: random masks at the start (uniform or ERK layer
//! densities), then every `update_every` steps prune-and-regrow of a fraction of each layer's
//! active weights that decays with a cosine, stopping at `stop_fraction` of training. RigL
//! (Evci et al. 2020) regrows where the dense gradient of the training loss is largest, SET
//! (Mocanu et al. 2018) at random. Whatever loss the step trains (clean, adversarial or
//! certified, as SparseVLR does) drives the regrowth.

use super::prune::random_prune;
use super::regrow::{prune_and_regrow, Grow};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::train::{Hook, Learner, Method, MethodSettings, Optimizer, RunCtx, Step, TrainConfig};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
pub enum DynamicMethod {
    Rigl,
    Set,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
pub enum Distribution {
    /// Erdos-Renyi-Kernel: density proportional to (sum of dimensions) / (product of
    /// dimensions), so small layers stay denser; scaled to the target overall.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Erk,
    /// Every layer at the target sparsity.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Uniform,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DynamicSparseConfig {
    /// Share of all weights pruned.
    pub sparsity: f64,
    pub method: DynamicMethod,
    pub distribution: Distribution,
    /// Optimizer steps between mask updates.
    pub update_every: usize,
    /// Share of each layer's active weights moved at the first update (cosine decay to 0).
    pub drop_fraction: f64,
    /// Share of training after which the masks stay fixed.
    pub stop_fraction: f64,
}

impl Default for DynamicSparseConfig {
    fn default() -> Self {
        DynamicSparseConfig { sparsity: 0.9, method: DynamicMethod::Rigl, distribution: Distribution::Erk, update_every: 100, drop_fraction: 0.3, stop_fraction: 0.75 }
    }
}

impl DynamicSparseConfig {
    pub fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(AerError::Invalid(format!("dynamic sparsity {}: give the share of weights pruned, from 0 up to (not including) 1", self.sparsity)));
        }
        if self.update_every == 0 || !(0.0..=1.0).contains(&self.drop_fraction) || !(0.0..=1.0).contains(&self.stop_fraction) {
            return Err(AerError::Invalid("dynamic sparse training needs update_every >= 1 and drop and stop fractions in [0, 1]".into()));
        }
        Ok(())
    }

    /// The fraction to move at optimizer step `step` (0-based) of `total`, if the masks are
    /// updated there.
    pub fn update_at(&self, step: usize, total: usize) -> Option<f64> {
        let end = self.stop_fraction * total as f64;
        if step == 0 || !step.is_multiple_of(self.update_every) || step as f64 >= end {
            return None;
        }
        Some(self.drop_fraction / 2.0 * (1.0 + (std::f64::consts::PI * step as f64 / end).cos()))
    }

    /// Per-layer sparsity (parameter index, sparsity) of the model's weights.
    pub fn layer_sparsity(&self, model: &Model) -> Vec<(usize, f64)> {
        let layers: Vec<(usize, &[usize])> = model.params.iter().enumerate().filter(|(_, p)| p.prunable()).map(|(i, p)| (i, p.value.shape())).collect();
        let shapes: Vec<&[usize]> = layers.iter().map(|(_, s)| *s).collect();
        let density = match self.distribution {
            Distribution::Uniform => vec![1.0 - self.sparsity; layers.len()],
            Distribution::Erk => erk_densities(&shapes, 1.0 - self.sparsity),
        };
        layers.iter().zip(density).map(|((i, _), d)| (*i, 1.0 - d)).collect()
    }

    /// Random masks at the configured densities, before the first step.
    pub fn init_masks(&self, gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, seed: u64) {
        let layers = self.layer_sparsity(model);
        random_prune(gpu, model, opt, &layers, seed);
    }

    /// Update the masks if step `step` of `total` is an update step. The gradients must be the
    /// dense ones for RigL (see `wants_dense_gradients`).
    pub async fn step(&self, gpu: &Gpu, model: &Model, opt: &Optimizer, step: usize, total: usize, seed: u64) -> Result<()> {
        if let Some(fraction) = self.update_at(step, total) {
            let grow = match self.method {
                DynamicMethod::Rigl => Grow::Gradient,
                DynamicMethod::Set => Grow::Random(seed ^ step as u64),
            };
            prune_and_regrow(gpu, model, Some(opt), fraction, grow).await?;
        }
        Ok(())
    }

    /// RigL reads the gradient at pruned weights on update steps.
    pub fn wants_dense_gradients(&self, step: usize, total: usize) -> bool {
        self.method == DynamicMethod::Rigl && self.update_at(step, total).is_some()
    }
}

/// ERK densities for weight tensors of `shapes` (e.g. [out, in] or [out, in, kh, kw]) with
/// `density` overall: density_l = min(1, eps * sum(shape_l) / prod(shape_l)), eps chosen so the
/// kept weights add up; layers that reach 1 stay dense and the rest share what remains.
pub fn erk_densities(shapes: &[&[usize]], density: f64) -> Vec<f64> {
    let sizes: Vec<f64> = shapes.iter().map(|s| s.iter().product::<usize>() as f64).collect();
    let raw: Vec<f64> = shapes.iter().zip(&sizes).map(|(s, n)| s.iter().sum::<usize>() as f64 / n).collect();
    let budget = density * sizes.iter().sum::<f64>();
    let mut dense = vec![false; shapes.len()];
    loop {
        let fixed: f64 = sizes.iter().zip(&dense).filter(|(_, d)| **d).map(|(n, _)| n).sum();
        let weighted: f64 = raw.iter().zip(&sizes).zip(&dense).filter(|(_, d)| !**d).map(|((r, n), _)| r * n).sum();
        let eps = (budget - fixed).max(0.0) / weighted.max(f64::MIN_POSITIVE);
        let over: Vec<usize> = (0..shapes.len()).filter(|&i| !dense[i] && eps * raw[i] > 1.0).collect();
        if over.is_empty() {
            return (0..shapes.len()).map(|i| if dense[i] { 1.0 } else { eps * raw[i] }).collect();
        }
        for i in over {
            dense[i] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erk_keeps_the_budget_and_favours_small_layers() {
        let shapes: Vec<&[usize]> = vec![&[16, 1, 5, 5], &[32, 16, 5, 5], &[256, 1568], &[10, 256]];
        for density in [0.5, 0.1, 0.01] {
            let d = erk_densities(&shapes, density);
            let sizes: Vec<f64> = shapes.iter().map(|s| s.iter().product::<usize>() as f64).collect();
            let kept: f64 = d.iter().zip(&sizes).map(|(d, n)| d * n).sum();
            assert!((kept / sizes.iter().sum::<f64>() - density).abs() < 1e-9, "{density}: {d:?}");
            assert!(d.iter().all(|&x| (0.0..=1.0).contains(&x)));
            assert!(d[0] >= d[1] && d[3] >= d[2], "{d:?}");
        }
    }

    #[test]
    fn updates_decay_and_stop() {
        let c = DynamicSparseConfig { update_every: 10, ..Default::default() };
        assert_eq!(c.update_at(0, 1000), None);
        assert_eq!(c.update_at(15, 1000), None);
        let first = c.update_at(10, 1000).unwrap();
        let later = c.update_at(500, 1000).unwrap();
        assert!(first <= 0.3 && first > later && later > 0.0, "{first} {later}");
        assert_eq!(c.update_at(750, 1000), None, "no updates after 75% of training");
    }
}

impl MethodSettings for DynamicSparseConfig {
    const KEY: &'static str = "dynamic";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        DynamicSparseConfig::check(self)
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for DynamicSparseConfig {
    fn changes_masks(&self) -> bool {
        true
    }

    fn start<'a>(&'a mut self, run: &'a mut RunCtx<'_>, model: &'a mut Model, opt: &'a Optimizer) -> Hook<'a> {
        self.init_masks(run.gpu, model, Some(opt), run.cfg.seed);
        let layers: Vec<String> = self.layer_sparsity(model).iter().map(|(i, s)| format!("{} {:.1}%", model.params[*i].name, 100.0 * s)).collect();
        run.note(format!("dynamic sparse training ({:?}, {:?}): random masks, sparsity {}", self.method, self.distribution, layers.join(", ")));
        crate::train::done()
    }

    /// The mask updates read the dense gradient (RigL).
    fn before_step(&mut self, _gpu: &Gpu, model: &Model, s: &Step) {
        if self.wants_dense_gradients(s.step, s.total) {
            model.dense_gradients.set(true);
        }
    }

    fn after_gradients<'a>(&'a mut self, gpu: &'a Gpu, model: &'a Model, opt: &'a dyn Learner, s: Step) -> Hook<'a> {
        Box::pin(async move {
            let o = opt.optimizer().ok_or_else(|| AerError::Invalid("dynamic sparse training needs the plain optimizer, not a learned mask".into()))?;
            self.step(gpu, model, o, s.step, s.total, s.seed).await?;
            model.dense_gradients.set(false);
            Ok(())
        })
    }
}
