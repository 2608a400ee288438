//! Lottery tickets (Frankle & Carbin, 2019): train, prune a fraction of the remaining weights
//! by magnitude, rewind the survivors to their initial values (or to those of an early
//! epoch), retrain, repeat. Every round starts a fresh optimizer; each round's accuracy is
//! the test accuracy at the epoch with the best validation score (robust accuracy under
//! adversarial training; early stopping on the validation split, never on the test split).
//!
//! Cyclic overlapping lottery tickets (COLT, Tiwari et al. 2023), with `parts` >= 2: each
//! round the rewound ticket trains on `parts` disjoint shares of the training data, each copy
//! is pruned by magnitude, and only the weights that every copy kept survive. The masks
//! overlap less than they would agree with themselves, so each round prunes more than
//! `rate`; the ticket of each round is still trained on all the data to measure it.

use super::prune::{magnitude_prune, Scope};
use crate::data::{Dataset, Splits};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::nn::{Model, ModelSpec};
use crate::attack::{validation_robustness, AdvTrainConfig};
use crate::train::{evaluate, train_epoch, Methods, Optimizer, TrainConfig};
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
    /// COLT when 2 or more: disjoint shares of the training data whose masks intersect.
    pub parts: usize,
}

impl Default for LotteryConfig {
    fn default() -> Self {
        LotteryConfig { rounds: 15, rate: 0.2, scope: Scope::Global, rewind_epoch: 0, parts: 1 }
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
    methods: &mut Methods,
    done: &mut dyn FnMut(&LotteryRound),
) -> Result<Vec<LotteryRound>> {
    let mut model = Model::new(gpu, spec, splits.train.shape, splits.classes, cfg.seed)?;
    let mut rewind = snapshot(gpu, &model).await?;
    let parts = colt_parts(&splits.train, lt.parts, cfg.seed);
    let mut out = Vec::new();
    for round in 0..=lt.rounds {
        let t = web_time::Instant::now();
        let capture = round == 0 && lt.rewind_epoch > 0;
        let trained = train_round(gpu, &model, &splits.train, Some(splits), cfg, methods, capture.then_some(lt.rewind_epoch)).await?;
        if let Some(w) = trained.rewind {
            rewind = w;
        }
        let masks = masks_of(gpu, &model).await?;
        let remaining = masks.values().flatten().sum::<f32>() as f64 / masks.values().map(Vec::len).sum::<usize>().max(1) as f64;
        let r = LotteryRound { round, remaining, best_epoch: trained.best_epoch, val_accuracy: trained.best_val, test_accuracy: trained.best_test, seconds: t.elapsed().as_secs_f64() };
        done(&r);
        out.push(r);
        if round == lt.rounds {
            break;
        }
        let target = 1.0 - (1.0 - lt.rate).powi(round as i32 + 1);
        if parts.is_empty() {
            magnitude_prune(gpu, &mut model, None, target, lt.scope);
        } else {
            // COLT: the ticket at its rewind point, trained on each share and pruned there;
            // a weight survives only where every share's copy kept it.
            let masks = masks_of(gpu, &model).await?;
            let mut kept: Option<Vec<Vec<f32>>> = None;
            for part in &parts {
                let mut copy = Model::from_tensors(gpu, spec, splits.train.shape, splits.classes, &rewind)?;
                crate::train::set_masks(gpu, &mut copy, None, &masks);
                train_round(gpu, &copy, part, None, cfg, methods, None).await?;
                magnitude_prune(gpu, &mut copy, None, target, lt.scope);
                let m = masks_of(gpu, &copy).await?;
                let m: Vec<Vec<f32>> = prunable_names(&copy).iter().map(|n| m[n].clone()).collect();
                kept = Some(match kept {
                    None => m,
                    Some(k) => k.iter().zip(&m).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x.min(*y)).collect()).collect(),
                });
            }
            let names = prunable_names(&model);
            let shared: HashMap<String, Vec<f32>> = names.into_iter().zip(kept.unwrap_or_default()).collect();
            crate::train::set_masks(gpu, &mut model, None, &shared);
        }
        model.set_values(gpu, &rewind)?;
    }
    Ok(out)
}

/// What one round's training found: the best validation epoch (1-based), its validation score
/// and test accuracy (when evaluated), and the weights to rewind to when asked for.
struct Trained {
    best_epoch: usize,
    best_val: f64,
    best_test: f64,
    rewind: Option<HashMap<String, Vec<f32>>>,
}

/// Train `model` with a fresh optimizer on `data` for `cfg.epochs` (the epoch hooks of
/// `methods`: its loss); with `splits`, score every epoch on the validation split and test the
/// best. `capture`: keep the weights after that many epochs.
async fn train_round(gpu: &Gpu, model: &Model, data: &Dataset, splits: Option<&Splits>, cfg: &TrainConfig, methods: &mut Methods, capture: Option<usize>) -> Result<Trained> {
    let mut opt = Optimizer::new(gpu, &cfg.optimizer, &model.params);
    let adv = cfg.method::<AdvTrainConfig>()?;
    let mut t = Trained { best_epoch: 0, best_val: -1.0, best_test: 0.0, rewind: None };
    for epoch in 0..cfg.epochs {
        train_epoch(gpu, model, &mut opt, data, cfg, epoch, methods, &[], &mut |_, _| {}).await?;
        if capture == Some(epoch + 1) {
            t.rewind = Some(snapshot(gpu, model).await?);
        }
        let Some(s) = splits else { continue };
        let val = match &adv {
            Some(a) => validation_robustness(gpu, model, &s.val, a).await?,
            None => evaluate(gpu, model, &s.val, 256).await?.accuracy,
        };
        if val > t.best_val {
            t.best_val = val;
            t.best_test = evaluate(gpu, model, &s.test, 256).await?.accuracy;
            t.best_epoch = epoch + 1;
        }
    }
    Ok(t)
}

async fn snapshot(gpu: &Gpu, m: &Model) -> Result<HashMap<String, Vec<f32>>> {
    Ok(m.download(gpu).await?.into_iter().map(|(n, _, v)| (n, v)).collect())
}

fn prunable_names(m: &Model) -> Vec<String> {
    m.params.iter().filter(|p| p.prunable()).map(|p| p.name.clone()).collect()
}

/// Each weight's mask: its own where it has one, else all kept.
async fn masks_of(gpu: &Gpu, m: &Model) -> Result<HashMap<String, Vec<f32>>> {
    let mut out = HashMap::new();
    for p in m.params.iter().filter(|p| p.prunable()) {
        let v = match &p.mask {
            Some(mask) => gpu.read_f32(mask).await?,
            None => vec![1.0; p.value.numel()],
        };
        out.insert(p.name.clone(), v);
    }
    Ok(out)
}

/// COLT's disjoint shares of the training data (none for plain lottery tickets): a seeded
/// shuffle dealt out in turn, so every share holds every class.
fn colt_parts(train: &Dataset, parts: usize, seed: u64) -> Vec<Dataset> {
    if parts < 2 {
        return Vec::new();
    }
    let order = train.epoch_order(seed ^ 0xc017, 0);
    (0..parts).map(|k| train.select(&order.iter().skip(k).step_by(parts).map(|&i| i as usize).collect::<Vec<_>>())).collect()
}
