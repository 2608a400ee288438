//! Magnitude pruning: keep the weights of largest |w|, exactly as many as the sparsity asks,
//! per layer or across all layers at once. Pruned weights are zeroed together with their
//! optimizer state; from then on every backward pass masks their gradients, so they stay
//! exactly zero.

use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use crate::train::Optimizer;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Each layer loses the same fraction of its weights.
    Layer,
    /// One threshold across all layers.
    Global,
}

/// Weights kept out of `n` at `sparsity` (rounded to the nearest weight).
fn kept(n: usize, sparsity: f64) -> usize {
    n - ((sparsity.clamp(0.0, 1.0) * n as f64).round() as usize).min(n)
}

/// Prune the model's weights to `sparsity` by magnitude. Already-pruned weights are zero, so
/// they are the first to go: raising the sparsity never revives a weight.
pub fn magnitude_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, sparsity: f64, scope: Scope) {
    let idx: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
    let masks: Vec<Tensor> = match scope {
        Scope::Layer => idx
            .iter()
            .map(|&i| {
                let w = &model.params[i].value;
                let keys = gpu.empty_u32(&[w.numel()]);
                kernels::magnitude_keys(gpu, w, &keys);
                let mask = gpu.empty(w.shape());
                kernels::select_top_k(gpu, &keys, kept(w.numel(), sparsity), &mask);
                mask
            })
            .collect(),
        Scope::Global => {
            let total: usize = idx.iter().map(|&i| model.params[i].value.numel()).sum();
            let keys = gpu.empty_u32(&[total]);
            let mut at = 0;
            for &i in &idx {
                let w = &model.params[i].value;
                let k = gpu.empty_u32(&[w.numel()]);
                kernels::magnitude_keys(gpu, w, &k);
                gpu.copy_range(&k, 0, &keys, at, w.numel());
                at += w.numel();
            }
            let all = gpu.empty(&[total]);
            kernels::select_top_k(gpu, &keys, kept(total, sparsity), &all);
            let mut at = 0;
            idx.iter()
                .map(|&i| {
                    let shape = model.params[i].value.shape().to_vec();
                    let mask = gpu.empty(&shape);
                    gpu.copy_range(&all, at, &mask, 0, mask.numel());
                    at += mask.numel();
                    mask
                })
                .collect()
        }
    };
    for (&i, m) in idx.iter().zip(masks) {
        model.params[i].mask = Some(m);
    }
    apply_masks(gpu, model, opt);
}

/// Set masks from values (e.g. a checkpoint's `mask.<param>` tensors) and apply them.
pub fn set_masks(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, masks: &std::collections::HashMap<String, Vec<f32>>) {
    for p in model.params.iter_mut() {
        if let Some(m) = masks.get(&p.name) {
            p.mask = Some(gpu.upload(m, p.value.shape()));
        }
    }
    apply_masks(gpu, model, opt);
}

/// Zero pruned weights, their gradients and their optimizer state.
fn apply_masks(gpu: &Gpu, model: &Model, opt: Option<&Optimizer>) {
    for (i, p) in model.params.iter().enumerate() {
        if let Some(m) = &p.mask {
            kernels::apply_mask(gpu, m, &p.value);
            kernels::apply_mask(gpu, m, &p.grad);
            for s in opt.map(|o| &o.state[i][..]).unwrap_or(&[]) {
                kernels::apply_mask(gpu, m, s);
            }
        }
    }
}
