//! One-shot structured pruning as a training method: whole channels, or N:M groups, go before
//! the first epoch, and the mask stays fixed.

use super::{channel_prune, nm_prune, Scope};
use crate::error::{AerError, Result};
use crate::nn::Model;
use crate::train::{Hook, Method, MethodSettings, Optimizer, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

/// One-shot structured pruning before training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum StructuredPrune {
    /// The share `sparsity` of each hidden layer's output channels (filters) with the smallest
    /// mean square (the first and last weight layers stay whole).
    Channels { sparsity: f64 },
    /// In every group of `group` consecutive weights along a row, the `keep` largest stay.
    Nm { keep: usize, group: usize },
}

impl MethodSettings for StructuredPrune {
    const KEY: &'static str = "structured_prune";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        match *self {
            StructuredPrune::Channels { sparsity } if !(0.0..1.0).contains(&sparsity) => Err(AerError::Invalid(format!("structured_prune: channel sparsity {sparsity} must be in [0, 1)"))),
            StructuredPrune::Nm { keep, group } if keep == 0 || keep > group => Err(AerError::Invalid(format!("structured_prune: N:M needs 1 <= N <= M; got {keep}:{group}"))),
            _ => Ok(()),
        }
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for StructuredPrune {
    fn start<'a>(&'a mut self, run: &'a mut RunCtx<'_>, model: &'a mut Model, opt: &'a Optimizer) -> Hook<'a> {
        match *self {
            StructuredPrune::Channels { sparsity } => {
                channel_prune(run.gpu, model, Some(opt), sparsity, Scope::Layer, true);
                run.note(format!("pruned {:.0}% of each hidden layer's output channels", 100.0 * sparsity));
            }
            StructuredPrune::Nm { keep, group } => {
                nm_prune(run.gpu, model, Some(opt), keep, group, false);
                run.note(format!("pruned to {keep}:{group} sparsity"));
            }
        }
        crate::train::done()
    }
}
