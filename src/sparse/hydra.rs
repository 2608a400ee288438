//! HYDRA (Sehwag et al. 2020): prune a trained model by learning which weights to keep. The
//! weights stay frozen; each has a score, initialised to sqrt(6 / fan_in) * w / max|w| of its
//! layer, and the forward pass uses w * [|score| is among the top k]. The scores are trained
//! on the network's own loss (adversarial for robust pruning) through a straight-through
//! estimator; the final mask is the top k of the trained scores, and fine-tuning follows.

use super::prune::{prune_by_scores, score_masks, weight_layers, Scope};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::{Model, Param};
use crate::train::{Learner, Optimizer, OptimizerConfig};

pub struct Hydra {
    /// Parameter indices of the pruned weights.
    layers: Vec<usize>,
    /// The weights behind the masks, frozen.
    frozen: Vec<Tensor>,
    /// One score per weight, trained.
    scores: Vec<Param>,
    opt: Optimizer,
    sparsity: f64,
    scope: Scope,
}

impl Hydra {
    /// Scores for every weight tensor of `model`, trained by `optimizer` (the paper: SGD, lr
    /// 0.1, momentum 0.9, weight decay 1e-4, cosine), for masks at `sparsity`. Masks already
    /// on the model are lifted: its pruned weights are zero, so are their scores, and a zero
    /// score never moves.
    pub async fn new(gpu: &Gpu, model: &mut Model, optimizer: &OptimizerConfig, sparsity: f64, scope: Scope) -> Result<Hydra> {
        if model.quant.is_some() {
            return Err(AerError::Invalid("HYDRA prunes f32 weights; prune before ternary quantization".into()));
        }
        let layers = weight_layers(model, false);
        let weights = gpu.read_bytes(&layers.iter().map(|&i| &model.params[i].value).collect::<Vec<_>>()).await?;
        let mut scores = Vec::new();
        let mut frozen = Vec::new();
        for (&i, w) in layers.iter().zip(weights) {
            let p = &mut model.params[i];
            p.mask = None;
            let w: Vec<f32> = bytemuck::pod_collect_to_vec(&w);
            let shape = p.value.shape().to_vec();
            let fan_in = w.len() / shape[0].max(1);
            let max = w.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = (6.0 / fan_in.max(1) as f32).sqrt() / if max > 0.0 { max } else { 1.0 };
            let s: Vec<f32> = w.iter().map(|x| scale * x).collect();
            scores.push(Param { name: format!("{}.scores", p.name), kind: crate::nn::ParamKind::Learned, value: gpu.upload(&s, &shape), grad: gpu.zeros(&shape), mask: None });
            frozen.push(gpu.duplicate(&p.value));
        }
        let opt = Optimizer::new(gpu, optimizer, &scores);
        Ok(Hydra { layers, frozen, scores, opt, sparsity, scope })
    }

    fn score_values(&self) -> Vec<Tensor> {
        self.scores.iter().map(|s| s.value.clone()).collect()
    }

    /// The model computes with the frozen weights under the scores' current top-k masks.
    fn write_weights(&self, gpu: &Gpu, model: &Model) {
        let masks = score_masks(gpu, model, &self.layers, &self.score_values(), self.sparsity, self.scope);
        for ((&i, w), mask) in self.layers.iter().zip(&self.frozen).zip(masks) {
            gpu.copy(w, &model.params[i].value);
            kernels::apply_mask(gpu, &mask, &model.params[i].value);
        }
    }

    /// End: the frozen weights, pruned to the sparsity by the trained scores; the masks are
    /// the model's from now on (fine-tuning keeps them).
    pub fn prune(self, gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>) {
        for (&i, w) in self.layers.iter().zip(&self.frozen) {
            gpu.copy(w, &model.params[i].value);
        }
        prune_by_scores(gpu, model, opt, &self.layers, &self.score_values(), self.sparsity, self.scope);
    }
}

impl Learner for Hydra {
    fn prepare(&mut self, gpu: &Gpu, model: &Model, _step: usize) {
        self.write_weights(gpu, model);
    }

    fn step(&mut self, gpu: &Gpu, model: &Model, lr: f32) {
        for ((&i, w), s) in self.layers.iter().zip(&self.frozen).zip(&self.scores) {
            kernels::score_grad(gpu, w, &s.value, &model.params[i].grad, &s.grad);
        }
        self.opt.update(gpu, &self.scores, lr);
    }

    fn finish(&mut self, gpu: &Gpu, model: &Model) {
        self.write_weights(gpu, model);
    }

    fn optimizer(&self) -> Option<&Optimizer> {
        None
    }
}
