//! Ternary weights of a model (the spec's `[quant]` table): quantization-aware training with a
//! straight-through estimator over full-precision latent weights (TWN, TTQ), and packed
//! inference (the packed format is `crate::kernels::packed`).

mod qat;

pub use qat::{cosine_distance, QuantizedWeight, Quantizer};

use crate::kernels::ThresholdRule;
use serde::{Deserialize, Serialize};

/// Which ternary quantizer trains the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum TernaryMethod {
    // The command line lists the names alone: `value(help = None)` keeps these docs out of it.
    /// Ternary weight networks (Li & Liu 2016): delta = 0.7 mean |w|, alpha the mean |w| above
    /// it, recomputed from the latent weights at every step.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Twn,
    /// Trained ternary quantization (Zhu et al. 2017): delta = 0.05 max |w|, separate positive
    /// and negative scales learned by gradient descent.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Ttq,
}

/// One scale (pair) per layer or per output channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum ScaleGranularity {
    #[default]
    Layer,
    Channel,
}

/// Which weight layers are ternary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "lowercase"))]
#[serde(rename_all = "lowercase")]
pub enum QuantLayers {
    // The command line lists the names alone: `value(help = None)` keeps these docs out of it.
    /// Every linear and convolution weight.
    #[default]
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    All,
    /// All but the first and the last weight layer, which stay f32 (the convention of the
    /// TWN and TTQ papers).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Hidden,
}

/// The `[quant]` table of a model spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantSpec {
    pub method: TernaryMethod,
    #[serde(default)]
    pub scales: ScaleGranularity,
    #[serde(default)]
    pub layers: QuantLayers,
    /// The threshold factor (TWN: of mean |w|, default 0.7; TTQ: of max |w|, default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
}

impl QuantSpec {
    pub fn new(method: TernaryMethod) -> QuantSpec {
        QuantSpec { method, scales: ScaleGranularity::Layer, layers: QuantLayers::All, threshold: None }
    }

    pub fn rule(&self) -> ThresholdRule {
        match self.method {
            TernaryMethod::Twn => ThresholdRule::MeanAbs(self.threshold.unwrap_or(0.7)),
            TernaryMethod::Ttq => ThresholdRule::MaxAbs(self.threshold.unwrap_or(0.05)),
        }
    }
}
