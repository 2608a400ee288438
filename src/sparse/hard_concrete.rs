//! Hard-concrete gates with an L0 penalty (Louizos et al. 2018): every weight w gets a
//! stochastic gate z in [0, 1] with a learned location log_alpha, the model computes with
//! w * z, and the loss adds `l0` times the expected share of open gates. Weights (and biases)
//! and gate locations train together, on the clean or the adversarial loss (robust tickets).
//! The final mask keeps the gates most likely open, exactly as many as the sparsity asks.

use super::prune::{prune_by_scores, weight_layers, Scope};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, HardConcrete};
use crate::nn::{Model, Param, ParamKind};
use crate::train::{Learner, Optimizer, OptimizerConfig, OptimizerKind};

/// The location of a gate that starts shut: P(open) below 0.1%.
const SHUT: f32 = -8.0;

pub struct HardConcreteGates {
    hc: HardConcrete,
    /// Parameter indices of the gated weights.
    layers: Vec<usize>,
    /// The gated weights themselves, then the model's biases (sharing its tensors).
    weights: Vec<Param>,
    log_alpha: Vec<Param>,
    /// The gates of the current step's forward pass.
    gates: Vec<Tensor>,
    weight_opt: Optimizer,
    gate_opt: Optimizer,
    /// The weights' base learning rate, so that the gates follow the weights' schedule.
    base_lr: f32,
    gate_lr: f32,
    /// The penalty's gradient weight per gate: `l0` / number of gates.
    l0_per_gate: f32,
    seed: u64,
}

impl HardConcreteGates {
    /// Gates on every weight tensor of `model`, all starting at `init_log_alpha` (3 opens
    /// nearly every gate, for pruning a trained model). The weights train with `optimizer`,
    /// the gate locations with Adam at `gate_lr`.
    pub async fn new(gpu: &Gpu, model: &mut Model, optimizer: &OptimizerConfig, gate_lr: f32, l0: f32, init_log_alpha: f32, seed: u64) -> Result<HardConcreteGates> {
        if model.quant.is_some() {
            return Err(AerError::Invalid("hard-concrete gates prune f32 weights; prune before ternary quantization".into()));
        }
        let layers = weight_layers(model, false);
        let total: usize = layers.iter().map(|&i| model.params[i].value.numel()).sum();
        let mut weights = Vec::new();
        let mut log_alpha = Vec::new();
        let mut gates = Vec::new();
        for p in &mut model.params {
            if !p.prunable() {
                continue;
            }
            // A pruned weight starts with its gate shut.
            let la = match p.mask.take() {
                None => gpu.full(p.value.shape(), init_log_alpha),
                Some(m) => {
                    let m = gpu.read_f32(&m).await?;
                    let v: Vec<f32> = m.iter().map(|&k| if k != 0.0 { init_log_alpha } else { SHUT }).collect();
                    gpu.upload(&v, p.value.shape())
                }
            };
            let shape = p.value.shape().to_vec();
            weights.push(Param { name: p.name.clone(), kind: p.kind, value: gpu.duplicate(&p.value), grad: gpu.zeros(&shape), mask: None });
            log_alpha.push(Param { name: format!("{}.log_alpha", p.name), kind: ParamKind::Learned, value: la, grad: gpu.zeros(&shape), mask: None });
            gates.push(gpu.zeros(&shape));
        }
        for p in model.params.iter().filter(|p| !p.prunable()) {
            weights.push(Param { name: p.name.clone(), kind: p.kind, value: p.value.clone(), grad: p.grad.clone(), mask: None });
        }
        let weight_opt = Optimizer::new(gpu, optimizer, &weights);
        let gate_cfg = OptimizerConfig { kind: OptimizerKind::Adam, lr: gate_lr, weight_decay: 0.0, ..OptimizerConfig::default() };
        let gate_opt = Optimizer::new(gpu, &gate_cfg, &log_alpha);
        Ok(HardConcreteGates {
            hc: HardConcrete::default(),
            layers,
            weights,
            log_alpha,
            gates,
            weight_opt,
            gate_opt,
            base_lr: optimizer.lr,
            gate_lr,
            l0_per_gate: l0 / total.max(1) as f32,
            seed,
        })
    }

    /// The model computes with w * z: drawn gates (`draw`: the stream) or the test-time ones.
    fn write_weights(&self, gpu: &Gpu, model: &Model, draw: Option<u32>) {
        for (j, &i) in self.layers.iter().enumerate() {
            let seed = draw.map(|d| crate::reference::common::pcg(d ^ (j as u32).wrapping_mul(0x9e37_79b9)));
            kernels::gate_forward(gpu, self.hc, &self.weights[j].value, &self.log_alpha[j].value, seed, &model.params[i].value, &self.gates[j]);
        }
    }

    /// Expected share of open gates (what the L0 penalty weighs), read back.
    pub async fn open_share(&self, gpu: &Gpu) -> Result<f64> {
        let (mut open, mut n) = (0f64, 0usize);
        for q in self.open_probabilities(gpu) {
            open += gpu.read_f32(&q).await?.iter().map(|&x| x as f64).sum::<f64>();
            n += q.numel();
        }
        Ok(open / n.max(1) as f64)
    }

    /// Each gate's P(z != 0), one tensor per gated weight.
    fn open_probabilities(&self, gpu: &Gpu) -> Vec<Tensor> {
        self.log_alpha
            .iter()
            .map(|la| {
                let q = gpu.empty(la.value.shape());
                kernels::gate_open_probability(gpu, self.hc, &la.value, &q);
                q
            })
            .collect()
    }

    /// End: the test-time gated weights, pruned to `sparsity` by each gate's probability of
    /// being open; the masks are the model's from now on.
    pub fn prune(self, gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, sparsity: f64, scope: Scope) {
        self.write_weights(gpu, model, None);
        let open = self.open_probabilities(gpu);
        prune_by_scores(gpu, model, opt, &self.layers, &open, sparsity, scope);
    }
}

impl Learner for HardConcreteGates {
    fn prepare(&mut self, gpu: &Gpu, model: &Model, step: usize) {
        let draw = crate::reference::common::pcg((self.seed as u32) ^ (step as u32).wrapping_mul(0x85eb_ca6b));
        self.write_weights(gpu, model, Some(draw));
    }

    fn step(&mut self, gpu: &Gpu, model: &Model, lr: f32) {
        for (j, &i) in self.layers.iter().enumerate() {
            let (w, la) = (&self.weights[j], &self.log_alpha[j]);
            kernels::gate_backward(gpu, self.hc, &w.value, &la.value, &model.params[i].grad, &self.gates[j], self.l0_per_gate, &w.grad, &la.grad);
        }
        self.weight_opt.update(gpu, &self.weights, lr);
        let scale = if self.base_lr > 0.0 { lr / self.base_lr } else { 1.0 };
        self.gate_opt.update(gpu, &self.log_alpha, self.gate_lr * scale);
    }

    fn finish(&mut self, gpu: &Gpu, model: &Model) {
        self.write_weights(gpu, model, None);
    }

    fn optimizer(&self) -> Option<&Optimizer> {
        None
    }
}
