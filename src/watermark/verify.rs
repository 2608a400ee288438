//! The ownership check: query a model with the key's triggers through its predictions only
//! (no weight is read) and test its agreement with the key's labels against chance.

use super::binomial::log10_upper_tail;
use super::key::WatermarkKey;
use super::triggers::{triggers, SCHEME};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::train::evaluate;
use serde::Serialize;

/// The significance level of the decision unless one is given: a model that never saw the key
/// is called watermarked at most once in a million checks.
pub const DEFAULT_ALPHA: f64 = 1e-6;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verification {
    pub scheme: String,
    pub key_id: String,
    /// [channels, height, width] and classes the triggers were made for (the model's).
    pub input: [usize; 3],
    pub classes: usize,
    pub triggers: usize,
    /// Triggers whose prediction is the key's label.
    pub matches: usize,
    pub match_rate: f64,
    /// 1 / classes: the match rate of a model that never saw the key.
    pub chance: f64,
    /// P(at least `matches` agreements by chance), exact binomial tail; 0 where it is below
    /// f64's range (log10_p_value then holds it).
    pub p_value: f64,
    pub log10_p_value: f64,
    pub alpha: f64,
    /// p_value < alpha: the model carries the key's watermark.
    pub watermarked: bool,
}

/// Check `model` for the watermark of `key` with its first `n` triggers at level `alpha`.
pub async fn verify(gpu: &Gpu, model: &Model, key: &WatermarkKey, n: usize, alpha: f64) -> Result<Verification> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(AerError::Invalid(format!("significance level {alpha}: give a probability between 0 and 1, e.g. 1e-6")));
    }
    let set = triggers(key, n, model.input, model.classes)?;
    // Only the predictions are used: `correct` is prediction == key label, per trigger.
    let r = evaluate(gpu, model, &set, 256).await?;
    let matches = r.correct.iter().filter(|&&c| c == 1).count();
    let chance = 1.0 / model.classes as f64;
    let log10_p_value = log10_upper_tail(n as u64, matches as u64, chance);
    Ok(Verification {
        scheme: SCHEME.into(),
        key_id: key.id(),
        input: model.input,
        classes: model.classes,
        triggers: n,
        matches,
        match_rate: matches as f64 / n as f64,
        chance,
        p_value: 10f64.powf(log10_p_value),
        log10_p_value,
        alpha,
        watermarked: log10_p_value < alpha.log10(),
    })
}
