//! Magnitude pruning: keep the weights (or B x B blocks) of largest magnitude, exactly as many
//! as the sparsity asks, per layer or across all layers at once. Pruned weights are zeroed
//! together with their optimizer state; from then on every backward pass masks their
//! gradients, so they stay exactly zero.

use crate::train::apply_masks;
use crate::nn::matrix_shape;
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use crate::train::Optimizer;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
pub enum Scope {
    /// Each layer loses the same fraction of its weights.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Layer,
    /// One threshold across all layers.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Global,
}

/// Weights kept out of `n` at `sparsity` (rounded to the nearest weight).
fn kept(n: usize, sparsity: f64) -> usize {
    n - ((sparsity.clamp(0.0, 1.0) * n as f64).round() as usize).min(n)
}

/// What pruning removes at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Granularity {
    /// Single weights.
    Weights,
    /// `block` x `block` blocks of a weight matrix [out, in] (a convolution's viewed as
    /// [out, in * kh * kw], as its im2col product sees it), scored by their mean square: what
    /// the block-sparse kernels skip.
    Blocks(usize),
    /// Whole output channels (filters): rows of the weight matrix, scored by mean square.
    Channels,
}

impl Granularity {
    /// The tile a weight matrix [n, k] is pruned in, for the tiled granularities.
    fn tile(self, k: usize) -> Option<(usize, usize)> {
        match self {
            Granularity::Weights => None,
            Granularity::Blocks(b) => Some((b, b)),
            Granularity::Channels => Some((1, k)),
        }
    }
}

/// Prune the model's weights to `sparsity` by magnitude. Already-pruned weights are zero, so
/// they are the first to go: raising the sparsity never revives a weight.
pub fn magnitude_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, sparsity: f64, scope: Scope) {
    let idx: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
    prune(gpu, model, opt, &idx, sparsity, scope, Granularity::Weights);
}

/// `magnitude_prune` restricted to the weights `layers` (parameter indices).
pub fn magnitude_prune_layers(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, layers: &[usize], sparsity: f64, scope: Scope) {
    prune(gpu, model, opt, layers, sparsity, scope, Granularity::Weights);
}

/// Prune whole blocks: the share `sparsity` of each layer's blocks (or of all blocks) with
/// the smallest mean square goes. With `hidden_only` the first and last weight layers stay
/// dense (they hold few weights, often less than a block row, and cost accuracy most).
pub fn block_magnitude_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, sparsity: f64, scope: Scope, block: usize, hidden_only: bool) {
    let idx = weight_layers(model, hidden_only);
    prune(gpu, model, opt, &idx, sparsity, scope, Granularity::Blocks(block));
}

/// Prune whole output channels (filters; the rows of each weight matrix): the share
/// `sparsity` of each layer's channels (or of all channels) with the smallest mean square goes,
/// with their biases left as they are. With `hidden_only` the first and last weight layers stay
/// whole (the last one's channels are the classes).
pub fn channel_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, sparsity: f64, scope: Scope, hidden_only: bool) {
    let idx = weight_layers(model, hidden_only);
    prune(gpu, model, opt, &idx, sparsity, scope, Granularity::Channels);
}

/// N:M sparsity (e.g. 2:4, which sparse tensor cores run): in every group of `group`
/// consecutive weights along each row of each weight matrix keep the `keep` largest.
pub fn nm_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, keep: usize, group: usize, hidden_only: bool) {
    for i in weight_layers(model, hidden_only) {
        let w = &model.params[i].value;
        let mask = gpu.empty(w.shape());
        kernels::nm_mask(gpu, w, matrix_shape(w.shape()).1, keep, group, &mask);
        model.params[i].mask = Some(mask);
    }
    apply_masks(gpu, model, opt);
}

/// The weight tensors' parameter indices, without the first and last with `hidden_only`.
pub(super) fn weight_layers(model: &Model, hidden_only: bool) -> Vec<usize> {
    let idx: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
    if hidden_only && idx.len() > 2 { idx[1..idx.len() - 1].to_vec() } else { idx }
}

/// Prune the weights `idx` (parameter indices) by `unit`, ranked by magnitude.
fn prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, idx: &[usize], sparsity: f64, scope: Scope, unit: Granularity) {
    prune_ranked(gpu, model, opt, idx, None, sparsity, scope, unit)
}

/// `prune`, ranked by the magnitude of `scores` (one tensor per listed weight) instead of
/// the weights' own when given.
#[allow(clippy::too_many_arguments)]
fn prune_ranked(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, idx: &[usize], scores: Option<&[Tensor]>, sparsity: f64, scope: Scope, unit: Granularity) {
    let masks = ranked_masks(gpu, model, idx, scores, sparsity, scope, unit);
    for (&i, mask) in idx.iter().zip(masks) {
        model.params[i].mask = Some(mask);
    }
    apply_masks(gpu, model, opt);
}

/// Prune the weights `idx` to `sparsity` ranked by the magnitude of `scores` (one tensor per
/// listed weight): what learned masks (HYDRA's scores, hard-concrete gates) end with.
pub(super) fn prune_by_scores(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, idx: &[usize], scores: &[Tensor], sparsity: f64, scope: Scope) {
    prune_ranked(gpu, model, opt, idx, Some(scores), sparsity, scope, Granularity::Weights)
}

/// The masks (shaped as the weights) keeping the `1 - sparsity` share of the weights `idx`
/// with the largest magnitude of `scores` (one tensor per listed weight), by exact GPU
/// top-k selection: HYDRA's forward pass takes them anew at every step.
pub(super) fn score_masks(gpu: &Gpu, model: &Model, idx: &[usize], scores: &[Tensor], sparsity: f64, scope: Scope) -> Vec<Tensor> {
    ranked_masks(gpu, model, idx, Some(scores), sparsity, scope, Granularity::Weights)
}

/// The masks magnitude pruning to `sparsity` would set now, without setting them (what
/// early-bird tickets compare from epoch to epoch), in the order of the prunable weights.
pub(super) fn magnitude_masks(gpu: &Gpu, model: &Model, sparsity: f64, scope: Scope) -> Vec<Tensor> {
    ranked_masks(gpu, model, &weight_layers(model, false), None, sparsity, scope, Granularity::Weights)
}

/// The masks of `prune_ranked`, not yet set.
#[allow(clippy::too_many_arguments)]
fn ranked_masks(gpu: &Gpu, model: &Model, idx: &[usize], scores: Option<&[Tensor]>, sparsity: f64, scope: Scope, unit: Granularity) -> Vec<Tensor> {
    // Per layer: the selection keys of its units (weights or blocks).
    let keys: Vec<Tensor> = idx
        .iter()
        .enumerate()
        .map(|(j, &i)| {
            let w = scores.map_or(&model.params[i].value, |s| &s[j]);
            let (n, k) = matrix_shape(w.shape());
            match unit.tile(k) {
                None => {
                    let keys = gpu.empty_u32(&[w.numel()]);
                    kernels::magnitude_keys(gpu, w, &keys);
                    keys
                }
                Some(tile) => {
                    let keys = gpu.empty_u32(&[n.div_ceil(tile.0) * k.div_ceil(tile.1)]);
                    kernels::block_norm_keys(gpu, w, n, k, tile, &keys);
                    keys
                }
            }
        })
        .collect();
    let select = |keys: &Tensor| {
        let keep = gpu.empty(&[keys.numel()]);
        kernels::select_top_k(gpu, keys, kept(keys.numel(), sparsity), &keep);
        keep
    };
    // Per layer: 1 for each unit kept.
    let keep: Vec<Tensor> = match scope {
        Scope::Layer => keys.iter().map(select).collect(),
        Scope::Global => {
            let total: usize = keys.iter().map(Tensor::numel).sum();
            let all_keys = gpu.empty_u32(&[total]);
            let mut at = 0;
            for k in &keys {
                gpu.copy_range(k, 0, &all_keys, at, k.numel());
                at += k.numel();
            }
            let all = select(&all_keys);
            let mut at = 0;
            keys.iter()
                .map(|k| {
                    let keep = gpu.empty(&[k.numel()]);
                    gpu.copy_range(&all, at, &keep, 0, k.numel());
                    at += k.numel();
                    keep
                })
                .collect()
        }
    };
    idx.iter()
        .zip(keep)
        .map(|(&i, keep)| {
            let shape = model.params[i].value.shape().to_vec();
            let (n, k) = matrix_shape(&shape);
            match unit.tile(k) {
                None => keep.reshape(&shape),
                Some(tile) => {
                    let mask = gpu.empty(&shape);
                    kernels::expand_block_mask(gpu, &keep, n, k, tile, &mask);
                    mask
                }
            }
        })
        .collect()
}

/// SNIP (Lee et al., 2019): prune at initialisation, before any training, keeping the
/// weights of largest connection sensitivity |dL/dw * w|, the loss gradient summed over the
/// first `batches` batches of `data` (in the seeded order of epoch 0). The scores are
/// computed once, on the CPU, from one readback of the weights and gradients per batch.
#[allow(clippy::too_many_arguments)]
pub async fn snip_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, data: &crate::data::Dataset, batch_size: usize, batches: usize, seed: u64, sparsity: f64, scope: Scope) -> crate::Result<()> {
    let idx: Vec<usize> = (0..model.params.len()).filter(|&i| model.params[i].prunable()).collect();
    let order = data.epoch_order(seed, 0);
    let [c, h, w] = data.shape;
    let mut grad_sum: Vec<Vec<f32>> = idx.iter().map(|&i| vec![0.0; model.params[i].value.numel()]).collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for b in order.chunks(batch_size.max(1)).take(batches.max(1)) {
        data.gather(b, &mut xs, &mut ys);
        let (x, y) = (gpu.upload(&xs, &[b.len(), c, h, w]), gpu.upload_u32(&ys, &[b.len()]));
        let mut tape = model.tape();
        let logits = model.forward(gpu, x, Some(&mut tape));
        let dlogits = gpu.empty(logits.shape());
        let (loss, correct) = (gpu.empty(&[b.len()]), gpu.empty_u32(&[b.len()]));
        kernels::softmax_xent(gpu, &logits, &y, &dlogits, &loss, &correct, b.len(), model.classes, 0);
        model.backward(gpu, tape, dlogits, false);
        let grads = gpu.read_bytes(&idx.iter().map(|&i| &model.params[i].grad).collect::<Vec<_>>()).await?;
        for (sum, g) in grad_sum.iter_mut().zip(grads) {
            let g: Vec<f32> = bytemuck::pod_collect_to_vec(&g);
            sum.iter_mut().zip(g).for_each(|(s, g)| *s += g);
        }
    }
    let weights = gpu.read_bytes(&idx.iter().map(|&i| &model.params[i].value).collect::<Vec<_>>()).await?;
    let scores: Vec<Tensor> = idx
        .iter()
        .zip(grad_sum.iter().zip(weights))
        .map(|(&i, (g, w))| {
            let w: Vec<f32> = bytemuck::pod_collect_to_vec(&w);
            let s: Vec<f32> = g.iter().zip(&w).map(|(g, w)| (g * w).abs()).collect();
            gpu.upload(&s, model.params[i].value.shape())
        })
        .collect();
    prune_ranked(gpu, model, opt, &idx, Some(&scores), sparsity, scope, Granularity::Weights);
    Ok(())
}

/// Random masks, exactly `sparsity` of each listed weight tensor pruned ((parameter index,
/// sparsity) pairs), seeded: the start of dynamic sparse training from scratch.
pub fn random_prune(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, layers: &[(usize, f64)], seed: u64) {
    use rand::{Rng, SeedableRng};
    for &(i, sparsity) in layers {
        let n = model.params[i].value.numel();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let keys: Vec<u32> = (0..n).map(|_| rng.random_range(1..=u32::MAX)).collect();
        let keep = gpu.empty(model.params[i].value.shape());
        kernels::select_top_k(gpu, &gpu.upload_u32(&keys, &[n]), kept(n, sparsity), &keep);
        model.params[i].mask = Some(keep);
    }
    apply_masks(gpu, model, opt);
}

