//! Transfer attacks: adversarial examples crafted on a source model (white box: PGD, APGD),
//! evaluated on a target model that the attacker never queried. With the source a compressed
//! sibling of the target (pruned, block-sparse, ternary) this measures how much publishing the
//! sibling helps an attacker of the full model; with the source an independently trained
//! model of the same architecture, the baseline prior the sibling is compared with.
//! Reads back once per batch, after its attacks.

use super::batch::Batch;
use super::config::AttackConfig;
use super::probe::WorstCase;
use super::robustness::{fraction, run_attack, upload_range};
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::nn::Model;
use crate::reference::first_argmax;

/// One attack's transferred examples, per example.
#[derive(Clone, Debug)]
pub struct TransferredAttack {
    pub config: AttackConfig,
    /// The source misclassifies its own adversarial example (white-box success).
    pub source_fooled: Vec<bool>,
    /// The target misclassifies the source's adversarial example.
    pub target_fooled: Vec<bool>,
    /// The target predicts the same class as the source at the source's adversarial example.
    pub agree: Vec<bool>,
}

/// What a source's attacks do to a target, per example.
#[derive(Clone, Debug)]
pub struct Transfer {
    pub labels: Vec<u32>,
    pub target_clean_correct: Vec<bool>,
    pub source_clean_correct: Vec<bool>,
    pub attacks: Vec<TransferredAttack>,
    /// The source's strongest point per example over its attacks (success on the source
    /// first, then loss), [n, dim]: the prior a query attack on the target can start from.
    pub crafted: Vec<f32>,
    /// The clean inputs, [n, dim].
    pub clean: Vec<f32>,
}

impl Transfer {
    /// Transfer success of attack `i` (None: any attack, per example): the share of the
    /// examples the target classifies correctly that the transferred examples flip.
    pub fn success(&self, i: Option<usize>) -> f64 {
        let fooled = |e: usize| match i {
            Some(i) => self.attacks[i].target_fooled[e],
            None => self.attacks.iter().any(|a| a.target_fooled[e]),
        };
        let attacked: Vec<usize> = (0..self.labels.len()).filter(|&e| self.target_clean_correct[e]).collect();
        fraction(&attacked.iter().map(|&e| fooled(e)).collect::<Vec<_>>())
    }

    /// Attack `i`'s white-box success on the source, over the examples the source classifies
    /// correctly.
    pub fn source_success(&self, i: usize) -> f64 {
        let a = &self.attacks[i];
        fraction(&(0..self.labels.len()).filter(|&e| self.source_clean_correct[e]).map(|e| a.source_fooled[e]).collect::<Vec<_>>())
    }

    /// Agreement of attack `i`: the share of the examples the target classifies correctly on
    /// which target and source predict the same class at the source's adversarial example.
    pub fn agreement(&self, i: usize) -> f64 {
        let a = &self.attacks[i];
        fraction(&(0..self.labels.len()).filter(|&e| self.target_clean_correct[e]).map(|e| a.agree[e]).collect::<Vec<_>>())
    }
}

/// Refuse a source whose inputs or classes differ from the target's: its examples could not
/// be fed to the target.
pub fn check_pair(target: &Model, source: &Model, what: &str) -> Result<()> {
    if target.input != source.input || target.classes != source.classes {
        return Err(AerError::Invalid(format!(
            "the {what} takes inputs {:?} with {} classes, but the full model takes {:?} with {} classes; give a model trained on the same data",
            source.input, source.classes, target.input, target.classes
        )));
    }
    Ok(())
}

async fn predictions(gpu: &Gpu, model: &Model, x: &Tensor) -> Result<Vec<u32>> {
    let logits = gpu.read_f32(&model.forward(gpu, x.clone(), None)).await?;
    Ok(logits.chunks(model.classes).map(first_argmax).collect())
}

/// Craft each of `attacks` on `source` for every example of `data` and evaluate the results
/// on `target`. `progress(batch, batches)` after each batch.
pub async fn transfer_attack(
    gpu: &Gpu,
    source: &Model,
    target: &Model,
    data: &Dataset,
    attacks: &[AttackConfig],
    batch_size: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Transfer> {
    check_pair(target, source, "source model")?;
    let n = data.len();
    let bs = source.fitting_batch(gpu, batch_size)?.min(target.fitting_batch(gpu, batch_size)?);
    let batches = n.div_ceil(bs);
    let mut out = Transfer {
        labels: Vec::new(),
        target_clean_correct: Vec::new(),
        source_clean_correct: Vec::new(),
        attacks: attacks.iter().map(|c| TransferredAttack { config: c.clone(), source_fooled: Vec::new(), target_fooled: Vec::new(), agree: Vec::new() }).collect(),
        crafted: Vec::new(),
        clean: Vec::new(),
    };
    for bi in 0..batches {
        let range = bi * bs..((bi + 1) * bs).min(n);
        let (x0, labels, ys) = upload_range(gpu, data, range);
        let correct = |pred: &[u32]| pred.iter().zip(&ys).map(|(p, y)| p == y).collect::<Vec<bool>>();
        out.target_clean_correct.extend(correct(&predictions(gpu, target, &x0).await?));
        out.source_clean_correct.extend(correct(&predictions(gpu, source, &x0).await?));
        let strongest = WorstCase::new(gpu, &x0);
        for (cfg, outcome) in attacks.iter().zip(&mut out.attacks) {
            let b = Batch::new(gpu, x0.clone(), labels.clone(), cfg, bi as u64);
            let record = WorstCase::new(gpu, &x0);
            run_attack(gpu, source, cfg, &b, &record).await?;
            strongest.merge(gpu, &record);
            let on_source = predictions(gpu, source, &record.x).await?;
            let on_target = predictions(gpu, target, &record.x).await?;
            for ((s, t), y) in on_source.iter().zip(&on_target).zip(&ys) {
                outcome.source_fooled.push(s != y);
                outcome.target_fooled.push(t != y);
                outcome.agree.push(s == t);
            }
        }
        out.crafted.extend(gpu.read_f32(&strongest.x).await?);
        out.clean.extend(gpu.read_f32(&x0).await?);
        out.labels.extend(ys);
        progress(bi + 1, batches);
    }
    Ok(out)
}
