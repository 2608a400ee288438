//! Lottery tickets (Frankle & Carbin, 2019): train, prune a fraction of the remaining weights
//! by magnitude, rewind the survivors to their initial values (or to those of an early
//! epoch), retrain, repeat. Every round starts a fresh optimizer; each round's accuracy is
//! the test accuracy at the epoch with the best validation accuracy (early stopping on the
//! validation split, never on the test split).

use super::prune::{magnitude_prune, Scope};
use crate::data::Splits;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::nn::{Model, ModelSpec};
use crate::train::{evaluate, train_epoch, Optimizer, TrainConfig};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LotteryConfig {
    /// Pruning rounds after the dense run.
    pub rounds: usize,
    /// Fraction of the remaining weights pruned per round.
    pub rate: f64,
    pub scope: Scope,
    /// Rewind to the weights after this many epochs of the dense run (0: the initial weights).
    pub rewind_epoch: usize,
}

impl Default for LotteryConfig {
    fn default() -> Self {
        LotteryConfig { rounds: 15, rate: 0.2, scope: Scope::Global, rewind_epoch: 0 }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct LotteryRound {
    pub round: usize,
    /// Fraction of prunable weights remaining.
    pub remaining: f64,
    pub best_epoch: usize,
    pub val_accuracy: f64,
    pub test_accuracy: f64,
    pub seconds: f64,
}

pub async fn lottery_ticket(
    gpu: &Gpu,
    splits: &Splits,
    spec: &ModelSpec,
    cfg: &TrainConfig,
    lt: &LotteryConfig,
    done: &mut dyn FnMut(&LotteryRound),
) -> Result<Vec<LotteryRound>> {
    let mut model = Model::new(gpu, spec, splits.train.shape, splits.classes, cfg.seed)?;
    let snapshot = async |m: &Model| -> Result<HashMap<String, Vec<f32>>> { Ok(m.download(gpu).await?.into_iter().map(|(n, _, v)| (n, v)).collect()) };
    let mut rewind = snapshot(&model).await?;
    let mut out = Vec::new();
    for round in 0..=lt.rounds {
        let t = web_time::Instant::now();
        let mut opt = Optimizer::new(gpu, &cfg.optimizer, &model.params);
        let (mut best_val, mut best_test, mut best_epoch) = (-1.0, 0.0, 0);
        for epoch in 0..cfg.epochs {
            train_epoch(gpu, &model, &mut opt, &splits.train, cfg, epoch, &[], &mut |_, _| {}).await?;
            if round == 0 && lt.rewind_epoch > 0 && epoch + 1 == lt.rewind_epoch {
                rewind = snapshot(&model).await?;
            }
            let val = evaluate(gpu, &model, &splits.val, 256).await?.accuracy;
            if val > best_val {
                best_val = val;
                best_test = evaluate(gpu, &model, &splits.test, 256).await?.accuracy;
                best_epoch = epoch + 1;
            }
        }
        let r = LotteryRound {
            round,
            remaining: (1.0 - lt.rate).powi(round as i32),
            best_epoch,
            val_accuracy: best_val,
            test_accuracy: best_test,
            seconds: t.elapsed().as_secs_f64(),
        };
        done(&r);
        out.push(r);
        if round < lt.rounds {
            magnitude_prune(gpu, &mut model, None, 1.0 - (1.0 - lt.rate).powi(round as i32 + 1), lt.scope);
            model.set_values(gpu, &rewind)?;
        }
    }
    Ok(out)
}
