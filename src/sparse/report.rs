//! How sparse a model is: per layer and overall, and the multiply-adds per example a dense
//! and a sparse execution of it need, and those the kernels in use execute.

use crate::error::Result;
use crate::gpu::Gpu;
use crate::nn::Model;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct LayerSparsity {
    pub name: String,
    pub weights: usize,
    pub nonzero: usize,
    pub sparsity: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SparsityReport {
    pub layers: Vec<LayerSparsity>,
    /// Over prunable weights.
    pub sparsity: f64,
    /// Non-zero parameters of the whole model, biases included.
    pub nonzero_parameters: usize,
    pub parameters: usize,
    /// Multiply-adds per example of the weight layers: dense, skipping every pruned weight,
    /// and as the kernels in use execute them in large inference batches (whole kept blocks
    /// on the block-sparse kernels, everything on the dense ones, the kept channels' share
    /// on convolutions after winners-take-all; `Model::executed_weights_macs`).
    pub dense_macs: usize,
    pub sparse_macs: usize,
    pub executed_macs: usize,
    /// `sparse_macs` with each weight layer reading only the input channels that a
    /// winners-take-all layer before it keeps (the work a channel-skipping kernel does).
    pub activation_sparse_macs: usize,
}

/// Counts the non-zero values of every parameter (one readback).
pub async fn sparsity_report(gpu: &Gpu, model: &Model) -> Result<SparsityReport> {
    let values = model.download(gpu).await?;
    let uses = model.weight_uses_per_example();
    let mut layers = Vec::new();
    let densities = model.input_channel_densities();
    let (mut dense_macs, mut sparse_macs, mut nonzero_parameters, mut parameters) = (0, 0, 0, 0);
    let mut activation_sparse_macs = 0.0;
    for (name, _, v) in &values {
        let nonzero = v.iter().filter(|&&x| x != 0.0).count();
        nonzero_parameters += nonzero;
        parameters += v.len();
        if let Some(&u) = uses.get(name) {
            dense_macs += v.len() * u;
            sparse_macs += nonzero * u;
            activation_sparse_macs += (nonzero * u) as f64 * densities.get(name).copied().unwrap_or(1.0);
            layers.push(LayerSparsity { name: name.clone(), weights: v.len(), nonzero, sparsity: 1.0 - nonzero as f64 / v.len().max(1) as f64 });
        }
    }
    let (w, nz) = layers.iter().fold((0, 0), |(w, nz), l| (w + l.weights, nz + l.nonzero));
    Ok(SparsityReport { layers, sparsity: 1.0 - nz as f64 / w.max(1) as f64, nonzero_parameters, parameters, dense_macs, sparse_macs, executed_macs: model.executed_weights_macs(usize::MAX), activation_sparse_macs: activation_sparse_macs.round() as usize })
}
