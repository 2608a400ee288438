//! Calibration metrics over predicted probabilities: accuracy, the expected calibration error
//! of Guo et al. (2017) with 15 equal-width confidence bins, the negative log-likelihood and
//! the Brier score, and the reliability diagram's bins.

use super::predict::Probabilities;
use serde::Serialize;

/// Confidence bins of the expected calibration error (Guo et al. 2017 use 15).
pub const ECE_BINS: usize = 15;

/// The smallest probability the log-likelihood takes the logarithm of: a label given
/// probability 0 (an underflow) costs -ln(1e-12) ~ 27.6 instead of infinity.
const MIN_PROBABILITY: f64 = 1e-12;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Calibration {
    /// Share of examples whose most probable class (the first of ties) is the label.
    pub accuracy: f64,
    /// Expected calibration error: sum over the 15 bins of |bin| / n x |accuracy - mean
    /// confidence| in the bin, confidence being the largest probability.
    pub ece: f64,
    /// Mean of -ln p(label).
    pub nll: f64,
    /// Mean over examples of the sum over classes of (p_k - [k = label])^2: between 0 and 2.
    pub brier: f64,
}

impl std::fmt::Display for Calibration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "accuracy {:.2}%, ECE {:.4}, NLL {:.4}, Brier {:.4}", 100.0 * self.accuracy, self.ece, self.nll, self.brier)
    }
}

/// One bin of the reliability diagram: confidences in ((i - 1) / bins, i / bins] (the first
/// bin also holds 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    /// Mean confidence and accuracy of the bin's examples (0 when it has none).
    pub confidence: f64,
    pub accuracy: f64,
}

/// The class of largest probability (the first of ties) and that probability.
pub fn top(row: &[f64]) -> (usize, f64) {
    row.iter().enumerate().fold((0, f64::NEG_INFINITY), |best, (k, &p)| if p > best.1 { (k, p) } else { best })
}

/// The bins of the reliability diagram, `bins` of equal width over [0, 1].
pub fn reliability(p: &Probabilities, bins: usize) -> Vec<ReliabilityBin> {
    let mut count = vec![0usize; bins];
    let (mut conf, mut hits) = (vec![0.0; bins], vec![0.0; bins]);
    for (row, &label) in p.rows().zip(&p.labels) {
        let (k, c) = top(row);
        // Bin i holds ((i - 1) / bins, i / bins]: ceil, less one, with 0 in the first.
        let i = ((c * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[i] += 1;
        conf[i] += c;
        hits[i] += (k == label as usize) as u8 as f64;
    }
    (0..bins)
        .map(|i| {
            let m = count[i].max(1) as f64;
            ReliabilityBin { lower: i as f64 / bins as f64, upper: (i + 1) as f64 / bins as f64, count: count[i], confidence: conf[i] / m, accuracy: hits[i] / m }
        })
        .collect()
}

/// Accuracy, ECE (15 bins), NLL and Brier score of `p` against its labels.
pub fn calibration(p: &Probabilities) -> Calibration {
    let n = p.labels.len().max(1) as f64;
    let bins = reliability(p, ECE_BINS);
    let ece = bins.iter().map(|b| b.count as f64 / n * (b.accuracy - b.confidence).abs()).sum();
    let (mut hits, mut nll, mut brier) = (0.0, 0.0, 0.0);
    for (row, &label) in p.rows().zip(&p.labels) {
        let y = label as usize;
        hits += (top(row).0 == y) as u8 as f64;
        nll -= row[y].max(MIN_PROBABILITY).ln();
        brier += row.iter().enumerate().map(|(k, &q)| (q - (k == y) as u8 as f64).powi(2)).sum::<f64>();
    }
    Calibration { accuracy: hits / n, ece, nll: nll / n, brier: brier / n }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs(rows: &[&[f64]], labels: &[u32]) -> Probabilities {
        Probabilities { classes: rows[0].len(), values: rows.concat(), labels: labels.to_vec() }
    }

    #[test]
    fn perfect_calibration_has_zero_ece() {
        // Confidence 0.75 in each example, right in 3 of 4: bin accuracy equals confidence.
        let p = probs(&[&[0.75, 0.25], &[0.75, 0.25], &[0.75, 0.25], &[0.75, 0.25]], &[0, 0, 0, 1]);
        let c = calibration(&p);
        assert!(c.ece.abs() < 1e-12, "{c:?}");
        assert!((c.accuracy - 0.75).abs() < 1e-12);
    }

    #[test]
    fn hand_computed_metrics() {
        // Two examples: [0.9, 0.1] label 0 (right), [0.7, 0.3] label 1 (wrong).
        let p = probs(&[&[0.9, 0.1], &[0.7, 0.3]], &[0, 1]);
        let c = calibration(&p);
        assert_eq!(c.accuracy, 0.5);
        // 0.9 * 15 = 13.5: bin 13; 0.7 * 15 = 10.5: bin 10. ECE = 1/2 |1 - 0.9| + 1/2 |0 - 0.7|.
        assert!((c.ece - 0.4).abs() < 1e-12, "{c:?}");
        assert!((c.nll - (-(0.9f64.ln()) - 0.3f64.ln()) / 2.0).abs() < 1e-12);
        // Brier: (0.1^2 + 0.1^2 + 0.7^2 + 0.7^2) / 2 = 0.5.
        assert!((c.brier - 0.5).abs() < 1e-12);
        let bins = reliability(&p, ECE_BINS);
        assert_eq!((bins[13].count, bins[10].count), (1, 1));
        assert_eq!((bins[13].accuracy, bins[10].accuracy), (1.0, 0.0));
        assert!((bins[13].confidence - 0.9).abs() < 1e-12);
        assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 2);
    }

    #[test]
    fn confident_and_wrong_is_the_worst_case() {
        let p = probs(&[&[1.0, 0.0, 0.0]], &[2]);
        let c = calibration(&p);
        assert_eq!((c.accuracy, c.ece, c.brier), (0.0, 1.0, 2.0));
        assert!((c.nll - 1e12f64.ln()).abs() < 1e-9, "an underflowed label costs -ln 1e-12");
        // Confidence 1 is in the last bin; a tie predicts the first class of it.
        assert_eq!(reliability(&p, ECE_BINS)[14].count, 1);
        let tie = calibration(&probs(&[&[0.5, 0.5]], &[1]));
        assert_eq!(tie.accuracy, 0.0);
        assert_eq!(reliability(&probs(&[&[0.5, 0.5]], &[1]), ECE_BINS)[7].count, 1);
    }
}
