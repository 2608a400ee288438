//! SNIP as a training method: prune at initialisation by connection sensitivity; the mask then
//! stays fixed.

use super::{snip_prune, Scope};
use crate::error::{AerError, Result};
use crate::nn::Model;
use crate::train::{Hook, Method, MethodSettings, Optimizer, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

/// SNIP (Lee et al., 2019) before the first epoch: keep the 1 - `sparsity` share of weights
/// with the largest |dL/dw * w| on the first `batches` training batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnipConfig {
    pub sparsity: f64,
    #[serde(default = "one")]
    pub batches: usize,
    #[serde(default = "super::gradual::global_scope")]
    pub scope: Scope,
}

fn one() -> usize {
    1
}

impl MethodSettings for SnipConfig {
    const KEY: &'static str = "snip";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) || self.batches == 0 {
            return Err(AerError::Invalid(format!("snip: sparsity {} must be in [0, 1) and batches {} at least 1", self.sparsity, self.batches)));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for SnipConfig {
    fn start<'a>(&'a mut self, run: &'a mut RunCtx<'_>, model: &'a mut Model, opt: &'a Optimizer) -> Hook<'a> {
        Box::pin(async move {
            let cfg = run.cfg;
            snip_prune(run.gpu, model, Some(opt), &run.splits.train, cfg.batch_size, self.batches, cfg.seed, self.sparsity, self.scope).await?;
            run.note(format!("SNIP: pruned {:.1}% of the weights by |gradient x weight| on {} batch(es) ({:?})", 100.0 * self.sparsity, self.batches, self.scope));
            Ok(())
        })
    }
}
