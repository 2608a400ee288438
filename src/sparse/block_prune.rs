//! One-shot block pruning as a training method: whole blocks go before the first epoch, and the
//! mask stays fixed.

use super::{block_magnitude_prune, Scope};
use crate::error::{AerError, Result};
use crate::nn::Model;
use crate::train::{Hook, Method, MethodSettings, Optimizer, RunCtx, TrainConfig};
use serde::{Deserialize, Serialize};

/// One-shot block pruning before training: the share `sparsity` of each layer's (or all
/// layers') `block` x `block` weight blocks with the smallest mean square is removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockPruneConfig {
    pub sparsity: f64,
    pub block: usize,
    pub scope: Scope,
    /// Keep the first and last weight layers dense.
    #[serde(default)]
    pub hidden_only: bool,
}

impl MethodSettings for BlockPruneConfig {
    const KEY: &'static str = "block_prune";

    fn check(&self, _cfg: &TrainConfig) -> Result<()> {
        if !(0.0..1.0).contains(&self.sparsity) || self.block == 0 {
            return Err(AerError::Invalid(format!("block_prune: sparsity {} must be in [0, 1) and block {} at least 1", self.sparsity, self.block)));
        }
        Ok(())
    }

    fn method(&self, _cfg: &TrainConfig) -> Box<dyn Method> {
        Box::new(self.clone())
    }
}

impl Method for BlockPruneConfig {
    fn start<'a>(&'a mut self, run: &'a mut RunCtx<'_>, model: &'a mut Model, opt: &'a Optimizer) -> Hook<'a> {
        block_magnitude_prune(run.gpu, model, Some(opt), self.sparsity, self.scope, self.block, self.hidden_only);
        let which = if self.hidden_only { "hidden" } else { "weight" };
        run.note(format!("pruned {:.0}% of each {which} layer's {b}x{b} weight blocks", 100.0 * self.sparsity, b = self.block));
        crate::train::done()
    }
}
