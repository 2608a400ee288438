//! A finished run in one record (`summary.json`): the final model's accuracy, robustness,
//! sparsity, weight bits, stored bytes, cost per example and measured inference time, which
//! the AER report tabulates and plots.

use super::run::StageRecord;
use super::spec::Run;
use crate::data::Splits;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::train::{block_sparse, evaluate, Checkpoint};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackSummary {
    pub attack: String,
    pub eps: f64,
    pub robust_accuracy: f64,
}

/// A watermark stage's result (`crate::watermark::Verification`), as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatermarkSummary {
    pub match_rate: f64,
    pub log10_p_value: f64,
    pub watermarked: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub eps: f64,
    pub robust_accuracy: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub pipeline: String,
    /// The sweep values of this run (empty without sweeps) and its directory name.
    pub label: String,
    pub run: String,
    pub model: String,
    pub adapter: String,
    /// Clean accuracy of the final model on the whole test split.
    pub test_accuracy: f64,
    /// From the last attack stage, when there is one.
    pub attacks: Vec<AttackSummary>,
    pub worst_robust_accuracy: Option<f64>,
    pub curve: Vec<CurvePoint>,
    /// Over weight tensors.
    pub weights: usize,
    pub sparsity: f64,
    /// Bits per weight as stored (32 for f32, 2 for packed ternary, fewer for pruned f32
    /// stored as compressed rows).
    pub weight_bits: f64,
    /// Bytes of the model as stored for inference: dense f32, pruned f32 as compressed rows
    /// (values, column indices, row offsets) where that is smaller, packed ternary codes with
    /// their scales, and f32 biases.
    pub model_bytes: usize,
    /// Floating-point operations per example (2 per multiply-add of the weight layers):
    /// dense, and as the kernels in use execute them.
    pub dense_flops: usize,
    pub executed_flops: usize,
    /// From the last watermark stage, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<WatermarkSummary>,
    /// From the last bench stage, when there is one.
    pub inference_us_per_example: Option<f64>,
    /// Time of this run's own stages (a stage shared with an earlier run of the sweep counts
    /// there).
    pub seconds: f64,
    pub stages: Vec<StageRecord>,
}

/// `dense_kernels`: measure the cost as the run's other stages ran, on the dense kernels only.
pub async fn summarise(gpu: &Gpu, run: &Run, splits: &Splits, dir: &Path, stages: Vec<StageRecord>, dense_kernels: bool) -> Result<RunSummary> {
    let last_ck = stages.iter().rev().find_map(|s| s.checkpoint.clone()).expect("a pipeline starts with a train stage");
    let ck = Checkpoint::load(&dir.join(&last_ck))?;
    let (mut model, _) = ck.restore(gpu)?;
    block_sparse(gpu, &mut model, dense_kernels, &mut |_| {}).await?;
    let test = evaluate(gpu, &model, &splits.test, 256).await?;
    let stored = ck.stored_size();
    let uses = model.weight_uses_per_example();
    let dense_macs: usize = model.params.iter().filter_map(|p| uses.get(&p.name).map(|u| u * p.value.numel())).sum();
    let attack = stages.iter().rev().find(|s| s.kind == "attack").map(|s| &s.result);
    let attacks = attack
        .and_then(|r| r["attacks"].as_array())
        .into_iter()
        .flatten()
        .map(|a| AttackSummary { attack: a["attack"].as_str().unwrap_or("?").into(), eps: a["config"]["eps"].as_f64().unwrap_or(0.0), robust_accuracy: a["robust_accuracy"].as_f64().unwrap_or(0.0) })
        .collect();
    let curve = attack
        .and_then(|r| r["curve"]["points"].as_array())
        .into_iter()
        .flatten()
        .map(|p| CurvePoint { eps: p["eps"].as_f64().unwrap_or(0.0), robust_accuracy: p["robust_accuracy"].as_f64().unwrap_or(0.0) })
        .collect();
    let bench = stages.iter().rev().find(|s| s.kind == "bench").map(|s| &s.result);
    let watermark = stages.iter().rev().find(|s| s.kind == "watermark").map(|s| WatermarkSummary {
        match_rate: s.result["match_rate"].as_f64().unwrap_or(0.0),
        log10_p_value: s.result["log10_p_value"].as_f64().unwrap_or(0.0),
        watermarked: s.result["watermarked"].as_bool().unwrap_or(false),
    });
    Ok(RunSummary {
        pipeline: run.pipeline.name.clone(),
        label: run.label.clone(),
        run: run.dir.clone(),
        model: ck.spec.name.clone(),
        adapter: gpu.adapter_label(),
        test_accuracy: test.accuracy,
        attacks,
        worst_robust_accuracy: attack.and_then(|r| r["worst_robust_accuracy"].as_f64()),
        curve,
        weights: stored.weights,
        sparsity: stored.sparsity(),
        weight_bits: 8.0 * stored.weight_bytes as f64 / stored.weights.max(1) as f64,
        model_bytes: stored.bytes(),
        dense_flops: 2 * dense_macs,
        executed_flops: 2 * model.executed_weights_macs(usize::MAX),
        watermark,
        inference_us_per_example: bench.and_then(|r: &Value| r["us_per_example"].as_f64()),
        seconds: stages.iter().map(|s| s.seconds).sum(),
        stages,
    })
}
