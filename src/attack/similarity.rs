//! How alike two models' input gradients are: per example, the cosine between the gradients
//! of each model's cross-entropy with respect to the input, at the clean input and the true
//! label, cos(grad_x CE_a(x, y), grad_x CE_b(x, y)) (0 where either gradient is 0). Computed
//! on the GPU (`kernels::row_cosine`), read back once per batch.

use super::probe::{probe, Objective};
use super::robustness::upload_range;
use super::transfer::check_pair;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, AdvLoss};
use crate::nn::Model;

/// The input gradient of cross-entropy at x (per example, unscaled by the batch).
pub fn ce_input_gradient(gpu: &Gpu, model: &Model, x: &Tensor, labels: &Tensor) -> Tensor {
    let ce = Objective { loss: AdvLoss::Ce, labels, targets: None, reference: None };
    probe(gpu, model, &ce, x, true).grad.expect("probe asked for the gradient")
}

/// Per example of `data`, the input-gradient cosine of `a` and `b`.
pub async fn gradient_cosines(gpu: &Gpu, a: &Model, b: &Model, data: &Dataset, batch_size: usize) -> Result<Vec<f32>> {
    check_pair(a, b, "second model")?;
    let n = data.len();
    let bs = a.fitting_batch(gpu, batch_size)?.min(b.fitting_batch(gpu, batch_size)?);
    let mut cos = Vec::with_capacity(n);
    for start in (0..n).step_by(bs.max(1)) {
        let range = start..(start + bs).min(n);
        let m = range.len();
        let (x, labels, _) = upload_range(gpu, data, range);
        let (ga, gb) = (ce_input_gradient(gpu, a, &x, &labels), ce_input_gradient(gpu, b, &x, &labels));
        let stats = gpu.empty(&[m, 4]);
        kernels::row_cosine(gpu, &ga, &gb, &stats, m, x.numel() / m);
        cos.extend(gpu.read_f32(&stats).await?.chunks(4).map(|s| s[0]));
    }
    Ok(cos)
}

/// Mean and median of a list of values (None when empty).
pub fn mean_median(v: &[f32]) -> Option<(f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f32::total_cmp);
    Some((s.iter().map(|&c| c as f64).sum::<f64>() / s.len() as f64, s[s.len() / 2] as f64))
}
