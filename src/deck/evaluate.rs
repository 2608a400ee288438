//! Accuracy of a deck, of each of its members alone and of a reference model on the clean
//! test images and on each corruption at each severity. The corrupted images are those of
//! `aer shift` (the same chunks and seeds, `shift::chunk_seed`), so the numbers compare. The
//! gate sees one batch at a time (all its images from one condition, as in the paper): its
//! spectrum against the members' signatures gives the weights with which the members'
//! probabilities are averaged for every image of the batch.

use super::file::DeckFile;
use super::gate::{batch_signature, distances, Gate};
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels;
use crate::nn::Model;
use crate::shift::{chunk_seed, corrupt, ShiftConfig, CHUNK};
use crate::uncertainty::predict::Logits;

/// One condition: the clean images (corruption None, severity 0) or a corruption at a severity.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionResult {
    pub corruption: Option<String>,
    pub severity: u32,
    pub deck: f64,
    /// Each member alone.
    pub members: Vec<f64>,
    pub reference: Option<f64>,
    /// Per member, its gate weight averaged over the images.
    pub gate_weights: Vec<f64>,
    /// The member with the largest mean weight.
    pub chosen: usize,
}

/// What to evaluate on: `aer shift`'s corruptions, severities, seed and batch (the gate's
/// batch), and the gate.
#[derive(Clone, Debug)]
pub struct DeckEvalConfig {
    pub shift: ShiftConfig,
    pub gate: Gate,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeckResult {
    pub conditions: Vec<ConditionResult>,
    /// Images per gate batch.
    pub batch: usize,
}

fn argmax(row: &[f64]) -> usize {
    (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b })
}

/// The deck's, its `members`' (in the deck's order) and the `reference` model's accuracy on
/// `data` clean and under `config`'s corruptions and severities; `on` hears progress.
pub async fn evaluate_deck(gpu: &Gpu, deck: &DeckFile, members: &[&Model], reference: Option<&Model>, data: &Dataset, config: &DeckEvalConfig, on: &mut dyn FnMut(&str)) -> Result<DeckResult> {
    let (cfg, gate) = (&config.shift, config.gate);
    let [c, h, w] = data.shape;
    let (n, d, hw) = (data.len(), c * h * w, h * w);
    let models: Vec<&Model> = members.iter().copied().chain(reference).collect();
    let limit = kernels::spectrum_max_planes(h, w, gpu.limits.max_storage_buffer_binding_size) / c;
    let batch = models.iter().try_fold(cfg.batch_size.min(limit.max(1)), |b, m| m.fitting_batch(gpu, b))?;
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    data.gather(&(0..n as u32).collect::<Vec<_>>(), &mut xs, &mut ys);
    let signatures: Vec<&[f32]> = deck.members.iter().map(|m| m.signature.as_slice()).collect();
    let mut conditions: Vec<(Option<usize>, u32)> = vec![(None, 0)];
    conditions.extend((0..cfg.corruptions.len()).flat_map(|ci| cfg.severities.iter().map(move |&s| (Some(ci), s))));
    let mut out = Vec::new();
    for (ci, severity) in conditions {
        let name = ci.map(|i| cfg.corruptions[i].clone());
        on(&name.as_ref().map_or("clean".to_string(), |nm| format!("{nm} severity {severity}")));
        // Per gate batch: its length, its spectrum, then each model's logits.
        let mut lens = Vec::new();
        let mut tensors: Vec<Tensor> = Vec::new();
        for (k, start) in (0..n).step_by(CHUNK).enumerate() {
            let len = CHUNK.min(n - start);
            let x = gpu.upload(&xs[start * d..(start + len) * d], &[len, c, h, w]);
            let x = match &name {
                Some(nm) => corrupt(gpu, nm, severity, chunk_seed(cfg.seed, ci.unwrap_or(0), severity, k), &x).await?,
                None => x,
            };
            for at in (0..len).step_by(batch) {
                let l = batch.min(len - at);
                let xb = gpu.empty(&[l, c, h, w]);
                gpu.copy_range(&x, at * d, &xb, 0, l * d);
                let s = gpu.empty(&[hw]);
                kernels::spectrum(gpu, &xb, &s, [l, c, h, w]);
                tensors.push(s);
                for m in &models {
                    tensors.push(m.forward(gpu, gpu.duplicate(&xb), None));
                }
                lens.push((start + at, l));
            }
        }
        gpu.flush();
        let bytes = gpu.read_bytes(&tensors.iter().collect::<Vec<_>>()).await?;
        let floats = |b: &Vec<u8>| bytemuck::pod_collect_to_vec::<u8, f32>(b);
        let mut correct = vec![0usize; models.len() + 1];
        let mut weights = vec![0f64; members.len()];
        for (&(start, l), group) in lens.iter().zip(bytes.chunks(1 + models.len())) {
            let wts = gate.weights(&distances(&batch_signature(&floats(&group[0]), &deck.clean), &signatures));
            let labels = ys[start..start + l].to_vec();
            let probs: Vec<_> = models.iter().zip(&group[1..]).map(|(m, b)| Logits { classes: m.classes, values: floats(b), labels: labels.clone() }.probabilities(1.0)).collect();
            for (i, &y) in labels.iter().enumerate() {
                let row = |m: usize| &probs[m].values[i * deck.classes..(i + 1) * deck.classes];
                for (m, hit) in correct.iter_mut().take(models.len()).enumerate() {
                    *hit += (argmax(row(m)) == y as usize) as usize;
                }
                let mixed: Vec<f64> = (0..deck.classes).map(|j| (0..members.len()).map(|m| wts[m] * row(m)[j]).sum()).collect();
                correct[models.len()] += (argmax(&mixed) == y as usize) as usize;
            }
            for (acc, wt) in weights.iter_mut().zip(&wts) {
                *acc += wt * l as f64 / n.max(1) as f64;
            }
        }
        let acc = |hits: usize| hits as f64 / n.max(1) as f64;
        out.push(ConditionResult {
            corruption: name,
            severity,
            deck: acc(correct[models.len()]),
            members: correct[..members.len()].iter().map(|&h| acc(h)).collect(),
            reference: reference.map(|_| acc(correct[members.len()])),
            chosen: argmax(&weights),
            gate_weights: weights,
        });
    }
    Ok(DeckResult { conditions: out, batch })
}
