//! Out-of-distribution detection: a score per image, higher for images like the training
//! data, and how well it separates the in-distribution test images (the positives) from
//! another data set's (the negatives): the area under the ROC curve and the false-positive
//! rate at 95% true-positive rate, as Hendrycks & Gimpel (2017) and Liu et al. (2020) report.
//!
//! Scores, all "higher = more in-distribution":
//! - maximum softmax probability (Hendrycks & Gimpel 2017), of the (mean) prediction;
//! - energy (Liu et al. 2020): the negative free energy T logsumexp(z / T) at T = 1, averaged
//!   over an ensemble's members;
//! - entropy: the negative predictive entropy -sum p ln p of the (ensemble) mean.

use super::predict::{Logits, Probabilities};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScoreKind {
    Msp,
    Energy,
    Entropy,
}

impl ScoreKind {
    pub fn label(self) -> &'static str {
        match self {
            ScoreKind::Msp => "MSP",
            ScoreKind::Energy => "energy",
            ScoreKind::Entropy => "entropy",
        }
    }
}

/// One score's separation of in- from out-of-distribution images.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub score: ScoreKind,
    pub auroc: f64,
    pub fpr_at_95_tpr: f64,
}

impl Detection {
    pub fn new(score: ScoreKind, inside: &[f64], outside: &[f64]) -> Detection {
        Detection { score, auroc: auroc(inside, outside), fpr_at_95_tpr: fpr_at_tpr(inside, outside, 0.95) }
    }
}

/// The largest probability of each example.
pub fn msp_scores(p: &Probabilities) -> Vec<f64> {
    p.rows().map(|r| super::metrics::top(r).1).collect()
}

/// logsumexp of each example's logits (the negative energy at T = 1), averaged over the members.
pub fn energy_scores(members: &[Logits]) -> Vec<f64> {
    let n = members.first().map_or(0, |m| m.labels.len());
    let mut score = vec![0.0; n];
    for m in members {
        for (s, row) in score.iter_mut().zip(m.rows()) {
            let max = row.iter().fold(f64::NEG_INFINITY, |a, &z| a.max(z as f64));
            *s += (max + row.iter().map(|&z| (z as f64 - max).exp()).sum::<f64>().ln()) / members.len() as f64;
        }
    }
    score
}

/// The negative entropy -sum_k p_k ln p_k of each example's prediction (0 ln 0 = 0).
pub fn entropy_scores(p: &Probabilities) -> Vec<f64> {
    p.rows().map(|r| r.iter().filter(|&&q| q > 0.0).map(|&q| q * q.ln()).sum()).collect()
}

/// Area under the ROC curve with `inside` the positives: the probability that a random
/// positive scores above a random negative, ties counting one half (the Mann-Whitney U over
/// mid-ranks). 0.5 when either side is empty.
pub fn auroc(inside: &[f64], outside: &[f64]) -> f64 {
    let (p, q) = (inside.len(), outside.len());
    if p == 0 || q == 0 {
        return 0.5;
    }
    let mut all: Vec<(f64, bool)> = inside.iter().map(|&s| (s, true)).chain(outside.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let j = i + all[i..].iter().take_while(|x| x.0 == all[i].0).count();
        // Ranks i + 1 ..= j share their mean.
        let mid = (i + 1 + j) as f64 / 2.0;
        rank_sum += mid * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    (rank_sum - (p * (p + 1)) as f64 / 2.0) / (p * q) as f64
}

/// The share of `outside` at or above the highest threshold that keeps at least `tpr` of
/// `inside` at or above it.
pub fn fpr_at_tpr(inside: &[f64], outside: &[f64], tpr: f64) -> f64 {
    if inside.is_empty() || outside.is_empty() {
        return 1.0;
    }
    let mut sorted = inside.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let k = ((tpr * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    let threshold = sorted[k - 1];
    outside.iter().filter(|&&s| s >= threshold).count() as f64 / outside.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_of_separable_identical_and_reversed_scores() {
        assert_eq!(auroc(&[3.0, 4.0, 5.0], &[0.0, 1.0]), 1.0);
        assert_eq!(auroc(&[0.0, 1.0], &[3.0, 4.0, 5.0]), 0.0);
        assert_eq!(auroc(&[2.0; 4], &[2.0; 3]), 0.5);
        // Hand count: pairs (in, out) = (1, 0) win, (1, 2) lose, (3, 0) win, (3, 2) win: 3/4;
        // a tie (2 against 2) adds one half of a pair.
        assert_eq!(auroc(&[1.0, 3.0], &[0.0, 2.0]), 0.75);
        assert_eq!(auroc(&[2.0, 3.0], &[0.0, 2.0]), (1.0 + 0.5 + 1.0 + 1.0) / 4.0);
    }

    #[test]
    fn fpr_at_95_tpr_by_hand() {
        // 20 positives 1..=20: 95% of them are at or above 2; negatives 0, 1.5, 2, 10.
        let inside: Vec<f64> = (1..=20).map(|v| v as f64).collect();
        assert_eq!(fpr_at_tpr(&inside, &[0.0, 1.5, 2.0, 10.0], 0.95), 0.5);
        assert_eq!(fpr_at_tpr(&inside, &[-1.0, 0.0], 0.95), 0.0);
        assert_eq!(fpr_at_tpr(&[1.0; 10], &[1.0, 0.0], 0.95), 0.5, "ties with the threshold count as positives");
    }

    #[test]
    fn scores_rank_confident_predictions_higher() {
        let p = Probabilities { classes: 2, values: vec![0.9, 0.1, 0.5, 0.5], labels: vec![0, 0] };
        assert_eq!(msp_scores(&p), vec![0.9, 0.5]);
        let h = entropy_scores(&p);
        assert!((h[1] + 2f64.ln()).abs() < 1e-12 && h[0] > h[1]);
        let z = Logits { classes: 2, values: vec![0.0, 0.0, 10.0, 0.0], labels: vec![0, 0] };
        let e = energy_scores(&[z.clone(), z]);
        assert!((e[0] - 2f64.ln()).abs() < 1e-12 && e[1] > e[0]);
    }
}
