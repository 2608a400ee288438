//! What a training step updates. Usually that is the optimizer over the model's own
//! parameters. Learned masks (`sparse::Hydra`'s scores, `sparse::HardConcreteGates`) keep
//! trained tensors of their own behind the weights the model computes with: before each
//! batch they write those weights, and after the backward pass they carry the weights'
//! gradients back to what they train.

use super::Optimizer;
use crate::gpu::Gpu;
use crate::nn::Model;

pub trait Learner {
    /// Before batch `step`'s forward pass (and its training attack): write the weights the
    /// model computes with.
    fn prepare(&mut self, _gpu: &Gpu, _model: &Model, _step: usize) {}
    /// After the backward pass: one update at learning rate `lr`.
    fn step(&mut self, gpu: &Gpu, model: &Model, lr: f32);
    /// After the epoch's last batch: leave the model's weights in their test-time form.
    fn finish(&mut self, _gpu: &Gpu, _model: &Model) {}
    /// The optimizer of the model's own parameters, when that is what trains (dynamic sparse
    /// training masks its state).
    fn optimizer(&self) -> Option<&Optimizer>;
}

impl Learner for Optimizer {
    fn step(&mut self, gpu: &Gpu, model: &Model, lr: f32) {
        self.update(gpu, &model.params, lr);
    }

    fn optimizer(&self) -> Option<&Optimizer> {
        Some(self)
    }
}
