//! The gate: a test batch's spectral signature D = mean |F(X)| - S0 against each member's
//! signature S_m, by the root-mean-square difference over the frequencies,
//! d_m = sqrt(mean_(u, v) (D - S_m)^2). L2 rather than cosine: a clean batch (D near 0) and a
//! clean-trained member (S_m = 0) have no direction, and the strength of a shift (its
//! severity) is part of what matches; the mean over frequencies makes d independent of the
//! image size, in units of pixel-value magnitude, so soft's temperature carries over.
//! The members' probabilities are then averaged with the gate's weights.

use crate::error::{AerError, Result};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Gate {
    /// The nearest member alone.
    Top1,
    /// The k nearest, equally weighted.
    TopK(usize),
    /// Every member, weighted by softmax(-d / T).
    Soft(f64),
}

impl Gate {
    /// `top1`, `topk K` or `soft T` as the command line gives them (one or two words).
    pub fn parse(words: &[String]) -> Result<Gate> {
        let value = |what: &str| -> Result<f64> {
            words.get(1).and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| AerError::Invalid(format!("--gate {} needs {what}, e.g. --gate {} {}", words[0], words[0], if words[0] == "topk" { "2" } else { "0.01" })))
        };
        let gate = match words.first().map(String::as_str) {
            Some("top1") if words.len() == 1 => Gate::Top1,
            Some("topk") => {
                let k = value("the number of members K")?;
                if k < 1.0 || k.fract() != 0.0 {
                    return Err(AerError::Invalid(format!("--gate topk {k}: give a whole number of members, at least 1")));
                }
                Gate::TopK(k as usize)
            }
            Some("soft") => {
                let t = value("a temperature T")?;
                if !(t.is_finite() && t > 0.0) {
                    return Err(AerError::Invalid(format!("--gate soft {t}: give a positive temperature")));
                }
                Gate::Soft(t)
            }
            _ => return Err(AerError::Invalid(format!("--gate {}: give top1, topk K or soft T", words.join(" ")))),
        };
        Ok(gate)
    }

    /// Per member, its weight (summing to 1) for a batch at distances `d` from the members.
    /// Ties go to the member listed first.
    pub fn weights(&self, d: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..d.len()).collect();
        order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
        let mut w = vec![0f64; d.len()];
        match *self {
            Gate::Top1 | Gate::TopK(_) => {
                let k = if let Gate::TopK(k) = *self { k.clamp(1, d.len()) } else { 1 };
                for &m in &order[..k] {
                    w[m] = 1.0 / k as f64;
                }
            }
            Gate::Soft(t) => {
                let nearest = d[order[0]];
                for (wm, dm) in w.iter_mut().zip(d) {
                    *wm = (-(dm - nearest) / t).exp();
                }
                let sum: f64 = w.iter().sum();
                w.iter_mut().for_each(|v| *v /= sum);
            }
        }
        w
    }

    pub fn label(&self) -> String {
        match self {
            Gate::Top1 => "top1".into(),
            Gate::TopK(k) => format!("topk {k}"),
            Gate::Soft(t) => format!("soft {t}"),
        }
    }
}

/// The batch's signature: its mean spectrum minus the clean one.
pub fn batch_signature(spectrum: &[f32], clean: &[f32]) -> Vec<f32> {
    spectrum.iter().zip(clean).map(|(s, c)| s - c).collect()
}

/// Root-mean-square difference of two signatures [h, w].
pub fn distance(a: &[f32], b: &[f32]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len().max(1) as f64).sqrt()
}

/// The distances of the batch signature `d` to each member's signature.
pub fn distances(d: &[f32], signatures: &[&[f32]]) -> Vec<f64> {
    signatures.iter().map(|s| distance(d, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_weight_the_nearest_members() {
        let d = [0.3, 0.1, 0.2];
        assert_eq!(Gate::Top1.weights(&d), [0.0, 1.0, 0.0]);
        assert_eq!(Gate::TopK(2).weights(&d), [0.0, 0.5, 0.5]);
        assert_eq!(Gate::TopK(9).weights(&d), [1.0 / 3.0; 3], "k past the members takes them all");
        let soft = Gate::Soft(0.1).weights(&d);
        assert!((soft.iter().sum::<f64>() - 1.0).abs() < 1e-12 && soft[1] > soft[2] && soft[2] > soft[0], "{soft:?}");
        let sharp = Gate::Soft(1e-6).weights(&d);
        assert!(sharp[1] > 0.999999, "a cold soft gate is top1: {sharp:?}");
        assert_eq!(Gate::Top1.weights(&[0.2, 0.2]), [1.0, 0.0], "ties go to the first member");
    }

    #[test]
    fn gate_words_parse_and_bad_ones_are_refused() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(Gate::parse(&words("top1")).unwrap(), Gate::Top1);
        assert_eq!(Gate::parse(&words("topk 2")).unwrap(), Gate::TopK(2));
        assert_eq!(Gate::parse(&words("soft 0.05")).unwrap(), Gate::Soft(0.05));
        for bad in ["topk", "topk 0", "topk 1.5", "soft -1", "soft x", "nearest", "top1 3"] {
            assert!(Gate::parse(&words(bad)).unwrap_err().to_string().contains("--gate"), "{bad}");
        }
    }

    #[test]
    fn distance_is_rms() {
        assert_eq!(distance(&[1.0, 1.0, 1.0, 1.0], &[0.0; 4]), 1.0);
        assert_eq!(distances(&[0.0, 2.0], &[&[0.0, 0.0], &[0.0, 2.0]]), [2f64.sqrt(), 0.0]);
        assert_eq!(batch_signature(&[3.0, 1.0], &[1.0, 1.0]), [2.0, 0.0]);
    }
}
