//! Adversarial examples and per-example results as safetensors, so other tools can re-check
//! them: `clean` and `adversarial` [n, c, h, w] in [0, 1], `labels`, `clean_pred`, `adv_pred`
//! (int64), `robust` (uint8, worst case over all attacks), `robust.<attack>` per attack, and
//! `min_distance` (float32, -1 where none was found within the search range, NaN where not estimated).

use super::distance::DistanceStats;
use super::robustness::Robustness;
use crate::error::{AerError, Result};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::collections::HashMap;

/// `distances` holds the estimates and the examples (indices into `r`) they belong to.
pub fn export_examples(r: &Robustness, shape: [usize; 3], distances: Option<(&[usize], &DistanceStats)>, metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let n = r.labels.len();
    let image = vec![n, shape[0], shape[1], shape[2]];
    let i64s = |v: &[u32]| -> Vec<u8> { v.iter().flat_map(|&x| (x as i64).to_le_bytes()).collect() };
    let u8s = |v: &[bool]| -> Vec<u8> { v.iter().map(|&b| b as u8).collect() };
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![
        ("clean".into(), Dtype::F32, image.clone(), bytemuck::cast_slice(&r.clean).to_vec()),
        ("adversarial".into(), Dtype::F32, image, bytemuck::cast_slice(&r.adversarial).to_vec()),
        ("labels".into(), Dtype::I64, vec![n], i64s(&r.labels)),
        ("clean_pred".into(), Dtype::I64, vec![n], i64s(&r.clean_pred)),
        ("adv_pred".into(), Dtype::I64, vec![n], i64s(&r.adv_pred)),
        ("robust".into(), Dtype::U8, vec![n], u8s(&r.worst_robust)),
    ];
    for a in &r.attacks {
        owned.push((format!("robust.{}", a.config.label()), Dtype::U8, vec![n], u8s(&a.robust)));
    }
    let mut dist = vec![f32::NAN; n];
    if let Some((idx, d)) = distances {
        for (&i, d) in idx.iter().zip(&d.distances) {
            dist[i] = d.unwrap_or(-1.0);
        }
    }
    owned.push(("min_distance".into(), Dtype::F32, vec![n], bytemuck::cast_slice(&dist).to_vec()));
    serialize(&owned, metadata)
}

/// Tensors given as (name, dtype, shape, little-endian bytes), as one safetensors file.
pub(super) fn serialize(owned: &[(String, Dtype, Vec<usize>, Vec<u8>)], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let views = owned
        .iter()
        .map(|(name, dt, shape, data)| TensorView::new(*dt, shape.clone(), data).map(|v| (name.clone(), v)))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| AerError::Invalid(format!("building the export: {e}")))?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| AerError::Invalid(format!("serializing the export: {e}")))
}
