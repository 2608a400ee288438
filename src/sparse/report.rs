//! How sparse a model is: per layer and overall, and the multiply-adds per example a dense
//! and a sparse execution of it need, and those the kernels in use execute.

use crate::error::Result;
use crate::gpu::Gpu;
use crate::nn::Model;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, Serialize)]
pub struct LayerSparsity {
    pub name: String,
    pub weights: usize,
    pub nonzero: usize,
    pub sparsity: f64,
    /// Times each weight is used per example (1 in a linear layer, the output positions in a
    /// convolution).
    pub uses_per_example: usize,
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

impl SparsityReport {
    /// Multiply-adds per example skipping both the pruned weights and the zero inputs, with
    /// `input_densities` the share of nonzero inputs per weight tensor (1 where absent).
    pub fn input_sparse_macs(&self, input_densities: &HashMap<String, f64>) -> f64 {
        let macs = self.layers.iter().map(|l| (l.nonzero * l.uses_per_example) as f64 * input_densities.get(&l.name).copied().unwrap_or(1.0));
        macs.sum()
    }
}

/// Counts the non-zero values of every parameter (one readback).
pub async fn sparsity_report(gpu: &Gpu, model: &Model) -> Result<SparsityReport> {
    let values = model.download(gpu).await?;
    let uses = model.weight_uses_per_example();
    let mut layers = Vec::new();
    let (mut dense_macs, mut sparse_macs, mut nonzero_parameters, mut parameters) = (0, 0, 0, 0);
    for (name, _, v) in &values {
        let nonzero = v.iter().filter(|&&x| x != 0.0).count();
        nonzero_parameters += nonzero;
        parameters += v.len();
        if let Some(&u) = uses.get(name) {
            dense_macs += v.len() * u;
            sparse_macs += nonzero * u;
            layers.push(LayerSparsity { name: name.clone(), weights: v.len(), nonzero, sparsity: 1.0 - nonzero as f64 / v.len().max(1) as f64, uses_per_example: u });
        }
    }
    let (w, nz) = layers.iter().fold((0, 0), |(w, nz), l| (w + l.weights, nz + l.nonzero));
    let mut report = SparsityReport {
        layers,
        sparsity: 1.0 - nz as f64 / w.max(1) as f64,
        nonzero_parameters,
        parameters,
        dense_macs,
        sparse_macs,
        executed_macs: model.executed_weights_macs(usize::MAX),
        activation_sparse_macs: 0,
    };
    report.activation_sparse_macs = report.input_sparse_macs(&model.input_channel_densities()).round() as usize;
    Ok(report)
}
