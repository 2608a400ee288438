//! Quantization-aware training state: for each ternary weight, its threshold, its scales
//! and the dequantized weights the forward and backward passes use, refreshed from the
//! full-precision latent weights (which the optimizer updates) before every forward pass.

use super::{QuantLayers, QuantSpec, ScaleGranularity, TernaryMethod};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, PackedTernary, TernaryGroups};
use crate::nn::Param;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// One ternary weight tensor.
pub struct QuantizedWeight {
    /// Index of the latent weight in the model's parameters.
    pub param: usize,
    pub groups: TernaryGroups,
    /// Per group: threshold and scales. For TTQ the scales are the value tensors of the
    /// parameters `{weight}.scale_pos` and `{weight}.scale_neg` (indices in `learned`).
    pub delta: Tensor,
    pub scale_pos: Tensor,
    pub scale_neg: Tensor,
    pub learned: Option<(usize, usize)>,
    /// The dequantized weights.
    pub wq: Tensor,
}

pub struct Quantizer {
    pub spec: QuantSpec,
    pub weights: Vec<QuantizedWeight>,
    /// BinaryRelax while training: the weights are relaxed toward their projection with
    /// this lambda (None: the exact projection, as in evaluation and at the end).
    relax: Cell<Option<f32>>,
    /// The channel-sparsity term's weight mu, added to the latent gradients (0: none).
    channel_sparsity: Cell<f32>,
    /// HQ's hyperspherical phase, while it lasts: each weight's row radii. The layers then
    /// compute in full precision with every row kept on its sphere.
    sphere: RefCell<Option<Vec<Tensor>>>,
}

impl Quantizer {
    /// Quantize the weights of `params` the spec selects. TTQ adds its scales as parameters,
    /// taken from `existing` when it has them, else initialised to TWN's alpha (the mean |w|
    /// above the threshold).
    pub fn attach(gpu: &Gpu, spec: &QuantSpec, params: &mut Vec<Param>, existing: Option<&HashMap<String, Vec<f32>>>) -> Result<Quantizer> {
        let weight_params: Vec<usize> = (0..params.len()).filter(|&i| params[i].prunable()).collect();
        let chosen: Vec<usize> = match spec.layers {
            QuantLayers::All => weight_params.clone(),
            QuantLayers::Hidden => weight_params.iter().copied().filter(|i| Some(i) != weight_params.first() && Some(i) != weight_params.last()).collect(),
        };
        let mut weights = Vec::new();
        for i in chosen {
            let shape = params[i].value.shape().to_vec();
            let n = shape[0];
            let kk: usize = shape[1..].iter().product();
            let groups = TernaryGroups { n, k: kk, groups: if spec.scales == ScaleGranularity::Channel { n } else { 1 } };
            let delta = gpu.zeros(&[groups.groups]);
            let (scale_pos, scale_neg, learned) = match spec.method {
                TernaryMethod::Twn => (gpu.zeros(&[groups.groups]), gpu.zeros(&[groups.groups]), None),
                TernaryMethod::Ttq => {
                    let name = params[i].name.clone();
                    let mut scale = |suffix: &str| -> Result<usize> {
                        let pname = format!("{name}.{suffix}");
                        let t = match existing.and_then(|e| e.get(&pname)) {
                            Some(v) if v.len() == groups.groups => gpu.upload(v, &[groups.groups]),
                            Some(v) => return Err(AerError::Invalid(format!("tensor '{pname}' has {} values, expected {} (one per {:?} group)", v.len(), groups.groups, spec.scales))),
                            None => gpu.zeros(&[groups.groups]),
                        };
                        params.push(Param { name: pname, kind: crate::nn::ParamKind::Learned, grad: gpu.zeros(&[groups.groups]), value: t, mask: None });
                        Ok(params.len() - 1)
                    };
                    let (p, q) = (scale("scale_pos")?, scale("scale_neg")?);
                    let fresh = existing.is_none_or(|e| !e.contains_key(&params[p].name));
                    if fresh {
                        k::ternary_threshold(gpu, groups, spec.rule(), &params[i].value, &delta, &params[p].value, &params[q].value, true);
                    }
                    (params[p].value.clone(), params[q].value.clone(), Some((p, q)))
                }
            };
            weights.push(QuantizedWeight { param: i, groups, delta, scale_pos, scale_neg, learned, wq: gpu.zeros(&shape) });
        }
        Ok(Quantizer { spec: spec.clone(), weights, relax: Cell::new(None), channel_sparsity: Cell::new(0.0), sphere: RefCell::new(None) })
    }

    /// Thresholds (and TWN's scales) and the dequantized weights from the latent weights.
    pub fn refresh(&self, gpu: &Gpu, params: &[Param]) {
        if let Some(radii) = self.sphere.borrow().as_ref() {
            // HQ's hyperspherical phase: projected gradient descent on each row's sphere, in
            // full precision.
            for (q, r) in self.weights.iter().zip(radii) {
                k::sphere_project(gpu, &params[q.param].value, r);
                gpu.copy(&params[q.param].value, &q.wq);
            }
            return;
        }
        let twn = self.spec.method == TernaryMethod::Twn;
        for q in &self.weights {
            let w = &params[q.param].value;
            k::ternary_threshold(gpu, q.groups, self.spec.rule(), w, &q.delta, &q.scale_pos, &q.scale_neg, twn);
            k::ternarize(gpu, q.groups, w, &q.delta, &q.scale_pos, &q.scale_neg, &q.wq);
            if let Some(lambda) = self.relax.get() {
                k::ternary_relax(gpu, q.groups, w, &q.wq, lambda);
            }
        }
    }

    /// BinaryRelax (Yin et al. 2018): until set back to None, the forward pass uses
    /// (w + lambda * Q(w)) / (1 + lambda) instead of the projection Q(w), with the identity
    /// as the gradient's estimator; and each backward pass adds the gradient of
    /// `channel_sparsity` times the sum of the output channels' norms to the latent weights.
    pub fn set_relaxation(&self, lambda: Option<f32>, channel_sparsity: f32) {
        self.relax.set(lambda);
        self.channel_sparsity.set(channel_sparsity);
    }

    /// Start HQ's hyperspherical phase (Liu et al. 2022): from now on every row of each
    /// quantized weight stays on the sphere of its present norm, and the layers compute in
    /// full precision, until `end_sphere`.
    pub fn begin_sphere(&self, gpu: &Gpu, params: &[Param]) {
        let radii = self
            .weights
            .iter()
            .map(|q| {
                let r = gpu.zeros(&[q.groups.n]);
                k::row_norms(gpu, &params[q.param].value, &r);
                r
            })
            .collect();
        *self.sphere.borrow_mut() = Some(radii);
    }

    pub fn in_sphere(&self) -> bool {
        self.sphere.borrow().is_some()
    }

    /// The dequantized weights are exactly ternary (not relaxed toward the latent weights by
    /// BinaryRelax, not in HQ's full-precision phase), so a packed copy computes the same
    /// products.
    pub fn exact(&self) -> bool {
        self.relax.get().is_none() && !self.in_sphere()
    }

    /// End the hyperspherical phase: the nonzero latent weights of each row are reinitialised
    /// to the ternary point of their direction on the sphere, sign(w) * radius / sqrt(nonzeros),
    /// so ternary training starts where the full-precision and the ternary weights agree.
    pub fn end_sphere(&self, gpu: &Gpu, params: &[Param]) {
        if let Some(radii) = self.sphere.borrow_mut().take() {
            for (q, r) in self.weights.iter().zip(&radii) {
                k::ternary_reinit(gpu, &params[q.param].value, r);
            }
        }
    }

    /// Per quantized weight: (parameter index, cosine distance 1 - cos(w, Q(w)) between the
    /// latent weights and the ternary weights the layer computes with).
    pub async fn cosine_distances(&self, gpu: &Gpu, params: &[Param]) -> Result<Vec<(usize, f64)>> {
        self.refresh(gpu, params);
        let mut out = Vec::new();
        for q in &self.weights {
            // Both tensors in one readback.
            let b = gpu.read_bytes(&[&params[q.param].value, &q.wq]).await?;
            let (w, t): (Vec<f32>, Vec<f32>) = (bytemuck::pod_collect_to_vec(&b[0]), bytemuck::pod_collect_to_vec(&b[1]));
            out.push((q.param, cosine_distance(&w, &t)));
        }
        Ok(out)
    }

    pub fn find(&self, param: usize) -> Option<&QuantizedWeight> {
        self.weights.iter().find(|q| q.param == param)
    }

    /// After the backward pass wrote dL/dwq into the latent weight's gradient: TTQ's
    /// straight-through gradients (TWN's estimator is the identity).
    pub fn backward(&self, gpu: &Gpu, params: &[Param], param: usize) {
        let Some(q) = self.find(param) else { return };
        let latent = &params[param];
        if let Some((p, n)) = q.learned {
            k::ternary_ste(gpu, q.groups, &latent.value, &q.delta, &q.scale_pos, &q.scale_neg, &latent.grad, &params[p].grad, &params[n].grad);
        }
        let mu = self.channel_sparsity.get();
        if mu > 0.0 {
            k::channel_lasso(gpu, q.groups, &latent.value, &latent.grad, mu);
        }
    }

    /// The packed form of every ternary weight, by parameter index (after a refresh).
    pub fn pack(&self, gpu: &Gpu, params: &[Param]) -> HashMap<usize, PackedTernary> {
        self.refresh(gpu, params);
        self.weights.iter().map(|q| (q.param, self.pack_weight(gpu, params, q))).collect()
    }

    /// The packed form of one ternary weight, from the thresholds and scales of the last
    /// refresh.
    pub fn pack_weight(&self, gpu: &Gpu, params: &[Param], q: &QuantizedWeight) -> PackedTernary {
        let asymmetric = self.spec.method == TernaryMethod::Ttq;
        k::ternary_pack(gpu, q.groups, &params[q.param].value, &q.delta, &q.scale_pos, &q.scale_neg, asymmetric)
    }
}

/// 1 - cos(a, b); 0 when either is all zeros.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
    let norm = |v: &[f32]| v.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
    let d = norm(a) * norm(b);
    if d == 0.0 { 0.0 } else { 1.0 - dot / d }
}
