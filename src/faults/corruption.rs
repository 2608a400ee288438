//! Parameter corruption (Sun et al., 2021, "Exploring the vulnerability of deep neural
//! networks: a study of parameter corruption"): the largest loss increase a bounded
//! perturbation of the weights can cause, estimated by gradient ascent on the weights, next to
//! random perturbations of the same size. The radius is relative: L2, rho times the clean
//! weights' norm (of the layer, or of all weights for the whole model); L-inf, rho times each
//! layer's root mean square weight. Only weight tensors are corrupted (biases stay clean), and
//! pruned weights stay zero.
//!
//! Everything runs on the GPU: per-iterate losses land in one buffer read back at the end.

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, Norm, Radius};
use crate::nn::Model;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorruptionConfig {
    pub norm: Norm,
    /// The radius relative to the clean weights (see the module).
    pub rho: f32,
    /// Gradient ascent steps (each 2.5 / steps of the radius, as PGD's rule).
    pub steps: usize,
    /// Random perturbations drawn for comparison (on the L2 sphere, or L-inf corners).
    pub random: usize,
    pub seed: u64,
}

impl Default for CorruptionConfig {
    fn default() -> Self {
        CorruptionConfig { norm: Norm::L2, rho: 0.05, steps: 10, random: 10, seed: 0 }
    }
}

/// One corruption measurement.
#[derive(Clone, Debug, Serialize)]
pub struct Corruption {
    /// The corrupted weights: a tensor's name, or "all weights".
    pub scope: String,
    pub weights: usize,
    /// The absolute radius (L2: of the whole perturbation; L-inf: per weight, the largest
    /// over the scope's layers).
    pub radius: f64,
    pub clean_loss: f64,
    pub clean_accuracy: f64,
    /// At the strongest iterate of gradient ascent.
    pub worst_loss: f64,
    pub worst_accuracy: f64,
    /// Over the random draws: the largest and the mean loss, and the mean accuracy.
    pub random_loss_max: f64,
    pub random_loss_mean: f64,
    pub random_accuracy_mean: f64,
}

impl Corruption {
    /// Whether gradient ascent found a larger loss increase than every random draw (it must,
    /// or the estimate is no better than chance).
    pub fn gradient_beats_random(&self) -> bool {
        self.worst_loss > self.random_loss_max
    }
}

/// Clean copies of the weights `targets` and the slots of their norms: slot t holds target
/// t's clean squared norm, slot T all targets' (when they are corrupted as one); the
/// gradient's and the perturbation's norms follow in the same layout at offsets T + 1 and
/// 2 (T + 1).
struct Saved {
    targets: Vec<usize>,
    clean: Vec<Tensor>,
    norms: Tensor,
}

impl Saved {
    fn new(gpu: &Gpu, model: &Model, targets: &[usize], whole: bool) -> Saved {
        let clean: Vec<Tensor> = targets.iter().map(|&i| gpu.duplicate(&model.params[i].value)).collect();
        let norms = gpu.zeros(&[3 * (targets.len() + 1)]);
        for (t, c) in clean.iter().enumerate() {
            k::sum_squares(gpu, c, None, &norms, t);
            if whole {
                k::sum_squares(gpu, c, None, &norms, targets.len());
            }
        }
        Saved { targets: targets.to_vec(), clean, norms }
    }

    fn groups(&self) -> usize {
        self.targets.len() + 1
    }

    /// The radius of target t under `norm` (L2 over `group`, a target's slot or the whole).
    fn radius(&self, model: &Model, norm: Norm, rho: f32, t: usize, group: usize) -> Radius {
        match norm {
            Norm::L2 => Radius::of_norm(rho, group),
            Norm::Linf => Radius::of_rms(rho, t, model.params[self.targets[t]].value.numel()),
        }
    }

    /// The L2 group of target t: itself, or the whole scope.
    fn group(&self, t: usize, whole: bool) -> usize {
        if whole { self.targets.len() } else { t }
    }

    /// One step from the current weights: L2 along the gradient (projected into the ball), or
    /// L-inf along its sign (clipped to the box). `step` is a fraction of the radius.
    fn ascend(&self, gpu: &Gpu, model: &Model, norm: Norm, rho: f32, step: f32, whole: bool) {
        let (gs, ds) = (self.groups(), 2 * self.groups());
        if norm == Norm::L2 {
            self.zero_slots(gpu, gs);
            for (t, &i) in self.targets.iter().enumerate() {
                k::sum_squares(gpu, &model.params[i].grad, None, &self.norms, gs + self.group(t, whole));
            }
        }
        for (t, &i) in self.targets.iter().enumerate() {
            let (p, g) = (&model.params[i], self.group(t, whole));
            let r = self.radius(model, norm, rho, t, g);
            match norm {
                Norm::L2 => k::l2_ascent(gpu, &p.value, &p.grad, &self.norms, gs + g, r, step),
                Norm::Linf => k::linf_ascent(gpu, &p.value, &self.clean[t], &p.grad, &self.norms, r, step),
            }
        }
        if norm == Norm::L2 {
            self.project(gpu, model, rho, whole, ds, false);
        }
        self.finish(gpu, model);
    }

    /// A random perturbation on the sphere (L2) or at a corner of the box (L-inf).
    fn random(&self, gpu: &Gpu, model: &Model, norm: Norm, rho: f32, whole: bool, seed: u32) {
        for (t, &i) in self.targets.iter().enumerate() {
            let p = &model.params[i];
            let s = seed ^ (t as u32).wrapping_mul(0x9e37_79b9);
            match norm {
                Norm::L2 => k::random_normal(gpu, &p.value, &self.clean[t], s),
                Norm::Linf => k::random_corner(gpu, &p.value, &self.clean[t], &self.norms, self.radius(model, norm, rho, t, t), s),
            }
        }
        if norm == Norm::L2 {
            self.project(gpu, model, rho, whole, 2 * self.groups(), true);
        }
        self.finish(gpu, model);
    }

    /// Scale each group's perturbation into (or onto) its L2 ball; masks first, so that the
    /// pruned weights neither count nor move.
    fn project(&self, gpu: &Gpu, model: &Model, rho: f32, whole: bool, ds: usize, onto_sphere: bool) {
        self.zero_slots(gpu, ds);
        for (t, &i) in self.targets.iter().enumerate() {
            let p = &model.params[i];
            if let Some(m) = &p.mask {
                k::apply_mask(gpu, m, &p.value);
            }
            k::sum_squares(gpu, &p.value, Some(&self.clean[t]), &self.norms, ds + self.group(t, whole));
        }
        for (t, &i) in self.targets.iter().enumerate() {
            let g = self.group(t, whole);
            k::l2_project(gpu, &model.params[i].value, &self.clean[t], &self.norms, ds + g, Radius::of_norm(rho, g), onto_sphere);
        }
    }

    fn zero_slots(&self, gpu: &Gpu, from: usize) {
        let zeros = gpu.zeros(&[self.groups()]);
        gpu.copy_range(&zeros, 0, &self.norms, from, self.groups());
    }

    fn finish(&self, gpu: &Gpu, model: &Model) {
        for &i in &self.targets {
            if let Some(m) = &model.params[i].mask {
                k::apply_mask(gpu, m, &model.params[i].value);
            }
        }
        model.weights_changed(gpu);
    }

    fn restore(&self, gpu: &Gpu, model: &Model) {
        for (&i, c) in self.targets.iter().zip(&self.clean) {
            gpu.copy(c, &model.params[i].value);
        }
        model.weights_changed(gpu);
    }
}

/// Corrupt the weight tensors `targets` (parameter indices) within `cfg`'s radius on the batch
/// (x, y): gradient ascent and random draws, the weights restored afterwards.
pub async fn corrupt(gpu: &Gpu, model: &Model, x: &Tensor, y: &Tensor, targets: &[usize], cfg: &CorruptionConfig) -> Result<Corruption> {
    if !model.packed().is_empty() {
        return Err(AerError::Invalid("a packed ternary model has no float weights to corrupt: corrupt the checkpoint it was packed from".into()));
    }
    if targets.is_empty() || targets.iter().any(|&i| !model.params[i].prunable()) {
        return Err(AerError::Invalid("corruption targets must be weight tensors".into()));
    }
    let (n, classes) = (x.shape()[0], model.classes);
    let whole = targets.len() > 1;
    let rounds = 1 + cfg.steps + cfg.random;
    let loss = gpu.empty(&[rounds * n]);
    let correct = gpu.empty_u32(&[rounds * n]);
    let saved = Saved::new(gpu, model, targets, whole);
    let measure = |round: usize, backward: bool| {
        let mut tape = model.tape();
        let logits = model.forward(gpu, x.clone(), backward.then_some(&mut tape));
        let dlogits = gpu.empty(logits.shape());
        k::softmax_xent(gpu, &logits, y, &dlogits, &loss, &correct, n, classes, round * n);
        if backward {
            model.backward(gpu, tape, dlogits, false);
        }
    };
    // Round 0 is the clean model; rounds 1..=steps the ascent's iterates.
    let step = 2.5 / cfg.steps.max(1) as f32;
    for s in 0..=cfg.steps {
        measure(s, s < cfg.steps);
        if s < cfg.steps {
            saved.ascend(gpu, model, cfg.norm, cfg.rho, step, whole);
        }
    }
    for r in 0..cfg.random {
        saved.random(gpu, model, cfg.norm, cfg.rho, whole, (cfg.seed as u32) ^ (r as u32 + 1).wrapping_mul(0x85eb_ca6b));
        measure(1 + cfg.steps + r, false);
    }
    saved.restore(gpu, model);
    let bytes = gpu.read_bytes(&[&loss, &correct, &saved.norms]).await?;
    let losses: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[0]);
    let hits: Vec<u32> = bytemuck::pod_collect_to_vec(&bytes[1]);
    let norms: Vec<f32> = bytemuck::pod_collect_to_vec(&bytes[2]);
    let mean_loss = |r: usize| losses[r * n..(r + 1) * n].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let accuracy = |r: usize| hits[r * n..(r + 1) * n].iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let worst = (0..=cfg.steps).max_by(|&a, &b| mean_loss(a).total_cmp(&mean_loss(b))).unwrap();
    let random: Vec<usize> = (1 + cfg.steps..rounds).collect();
    let weights: usize = targets.iter().map(|&i| model.params[i].value.numel()).sum();
    let radius = match cfg.norm {
        Norm::L2 => cfg.rho as f64 * (norms[if whole { targets.len() } else { 0 }] as f64).sqrt(),
        Norm::Linf => (0..targets.len()).map(|t| cfg.rho as f64 * (norms[t] as f64 / model.params[targets[t]].value.numel() as f64).sqrt()).fold(0.0, f64::max),
    };
    let scope = if whole { "all weights".to_string() } else { model.params[targets[0]].name.clone() };
    Ok(Corruption {
        scope,
        weights,
        radius,
        clean_loss: mean_loss(0),
        clean_accuracy: accuracy(0),
        worst_loss: mean_loss(worst),
        worst_accuracy: accuracy(worst),
        random_loss_max: random.iter().map(|&r| mean_loss(r)).fold(f64::NEG_INFINITY, f64::max),
        random_loss_mean: random.iter().map(|&r| mean_loss(r)).sum::<f64>() / random.len().max(1) as f64,
        random_accuracy_mean: random.iter().map(|&r| accuracy(r)).sum::<f64>() / random.len().max(1) as f64,
    })
}

/// The per-layer vulnerability table: each weight tensor corrupted alone, then all of them
/// together, on the batch (x, y).
pub async fn vulnerability_table(gpu: &Gpu, model: &Model, x: &Tensor, y: &Tensor, cfg: &CorruptionConfig) -> Result<Vec<Corruption>> {
    let weights: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
    let mut rows = Vec::new();
    for &i in &weights {
        rows.push(corrupt(gpu, model, x, y, &[i], cfg).await?);
    }
    if weights.len() > 1 {
        rows.push(corrupt(gpu, model, x, y, &weights, cfg).await?);
    }
    Ok(rows)
}

/// Corruption-resistant training's step (Sun et al. 2021; adversarial weight perturbation, Wu
/// et al. 2020): every weight tensor moved rho times its own norm along its current loss
/// gradient. Take the training gradient there, then `restore` before the optimizer step.
pub struct WeightPerturbation(Saved);

impl WeightPerturbation {
    pub fn along_gradient(gpu: &Gpu, model: &Model, rho: f32) -> WeightPerturbation {
        let targets: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
        let saved = Saved::new(gpu, model, &targets, false);
        saved.ascend(gpu, model, Norm::L2, rho, 1.0, false);
        WeightPerturbation(saved)
    }

    pub fn restore(self, gpu: &Gpu, model: &Model) {
        self.0.restore(gpu, model);
    }
}
