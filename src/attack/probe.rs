//! Evaluating the attacker's objective at a batch of points, and the per-example record of
//! the strongest point found.

use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdvLoss, AdvLossInputs};
use crate::nn::Model;

/// What the attacker maximises on one batch.
pub struct Objective<'a> {
    pub loss: AdvLoss,
    pub labels: &'a Tensor,
    /// Target classes, for a targeted attack.
    pub targets: Option<&'a Tensor>,
    /// Clean logits, for the KL objective.
    pub reference: Option<&'a Tensor>,
}

/// The objective's value, success flags and (when asked) input gradient at a batch of points.
pub struct Probe {
    pub loss: Tensor,
    pub success: Tensor,
    pub grad: Option<Tensor>,
}

/// Forward (and, with `grad`, backward to the input) at x. The model has no layers that act
/// differently in training, so this is evaluation mode; parameters' gradients are untouched.
pub fn probe(gpu: &Gpu, model: &Model, obj: &Objective, x: &Tensor, grad: bool) -> Probe {
    let n = x.shape()[0];
    let mut tape = model.tape();
    let logits = model.forward(gpu, x.clone(), grad.then_some(&mut tape));
    let dlogits = gpu.empty(logits.shape());
    let loss = gpu.empty(&[n]);
    let success = gpu.empty_u32(&[n]);
    let inputs = AdvLossInputs { labels: obj.labels, targets: obj.targets, reference: obj.reference };
    kernels::adv_loss(gpu, obj.loss, &logits, &inputs, &dlogits, &loss, &success, n, model.classes);
    let grad = grad.then(|| model.input_gradient(gpu, tape, dlogits));
    Probe { loss, success, grad }
}

/// Per example, the strongest point found so far over steps, restarts and attacks: a
/// successful point beats an unsuccessful one, and between equals the higher objective wins.
pub struct WorstCase {
    pub x: Tensor,
    pub loss: Tensor,
    pub success: Tensor,
    dim: usize,
}

impl WorstCase {
    /// Starts at the clean input with nothing found (any observation replaces it).
    pub fn new(gpu: &Gpu, x0: &Tensor) -> WorstCase {
        let n = x0.shape()[0];
        let x = gpu.duplicate(x0);
        WorstCase { x, loss: gpu.full(&[n], f32::NEG_INFINITY), success: gpu.zeros_u32(&[n]), dim: x0.numel() / n.max(1) }
    }

    pub fn observe(&self, gpu: &Gpu, x: &Tensor, p: &Probe) {
        self.observe_raw(gpu, x, &p.loss, &p.success);
    }

    /// Fold another record in (e.g. one attack's result into the worst case across attacks).
    pub fn merge(&self, gpu: &Gpu, other: &WorstCase) {
        self.observe_raw(gpu, &other.x, &other.loss, &other.success);
    }

    fn observe_raw(&self, gpu: &Gpu, x: &Tensor, loss: &Tensor, success: &Tensor) {
        let n = self.loss.numel();
        kernels::keep_best(gpu, x, loss, success, &self.x, &self.loss, &self.success, n, self.dim);
    }
}
