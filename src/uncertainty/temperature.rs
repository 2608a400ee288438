//! Temperature scaling (Guo et al. 2017): one scalar T > 0 dividing every logit, fitted to
//! minimise the negative log-likelihood of held-out (validation) examples. It changes no
//! prediction (the order of the logits stays), only the confidence. NLL(z / T) is convex in
//! 1 / T, so it has one minimum along log T, which a golden-section search finds
//! deterministically.

use super::predict::Logits;
use crate::error::{AerError, Result};

/// The range searched: temperatures from 1/100 to 100.
const LOG_T_RANGE: (f64, f64) = (-4.605_170_185_988_091, 4.605_170_185_988_091);
/// Golden-section steps: the bracket shrinks by 0.618 each, to ~1e-16 of its width.
const STEPS: usize = 80;

/// Mean -ln softmax(z / t)[label] over the examples.
pub fn nll_at(logits: &Logits, t: f64) -> f64 {
    let mut total = 0.0;
    for (row, &y) in logits.rows().zip(&logits.labels) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &z| m.max(z as f64 / t));
        let lse = max + row.iter().map(|&z| (z as f64 / t - max).exp()).sum::<f64>().ln();
        total += lse - row[y as usize] as f64 / t;
    }
    total / logits.labels.len().max(1) as f64
}

/// The temperature in [0.01, 100] of least NLL on `validation` (never fit it on the test
/// split: the test metrics would then flatter it).
pub fn fit_temperature(validation: &Logits) -> Result<f64> {
    if validation.labels.is_empty() {
        return Err(AerError::Invalid("temperature scaling needs validation examples, and the validation split holds none: give --val-size 1 or more (1,000 is usual)".into()));
    }
    let f = |u: f64| nll_at(validation, u.exp());
    let r = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = LOG_T_RANGE;
    let (mut c, mut d) = (b - r * (b - a), a + r * (b - a));
    let (mut fc, mut fd) = (f(c), f(d));
    for _ in 0..STEPS {
        if fc <= fd {
            (b, d, fd) = (d, c, fc);
            c = b - r * (b - a);
            fc = f(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + r * (b - a);
            fd = f(d);
        }
    }
    Ok(((a + b) / 2.0).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::common::uniform01;

    /// Logits of `n` examples over 5 classes, with labels drawn from softmax(z / t_true): the
    /// model's confidence is off by exactly t_true.
    fn synthetic(n: usize, t_true: f64) -> Logits {
        let classes = 5;
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        for i in 0..n as u32 {
            let row: Vec<f32> = (0..classes as u32).map(|k| (6.0 * uniform01(7, i * 8 + k, 0) - 3.0) as f32).collect();
            let z = Logits { classes, values: row.clone(), labels: vec![0] };
            let p = z.probabilities(t_true);
            let u = uniform01(7, i, 1);
            let mut acc = 0.0;
            let y = p.values.iter().position(|&q| {
                acc += q;
                u < acc
            });
            labels.push(y.unwrap_or(classes - 1) as u32);
            values.extend(row);
        }
        Logits { classes, values, labels }
    }

    #[test]
    fn recovers_a_known_temperature() {
        for t_true in [0.5, 2.0] {
            let z = synthetic(20_000, t_true);
            let t = fit_temperature(&z).unwrap();
            assert!((t / t_true - 1.0).abs() < 0.05, "fitted {t}, labels drawn at {t_true}");
            assert!(nll_at(&z, t) <= nll_at(&z, 1.0));
        }
    }

    #[test]
    fn hand_computed_nll_and_empty_validation() {
        // Two classes, logits (0, 0): -ln 1/2 at any temperature.
        let z = Logits { classes: 2, values: vec![0.0, 0.0], labels: vec![1] };
        assert!((nll_at(&z, 3.0) - 2f64.ln()).abs() < 1e-12);
        let empty = Logits { classes: 2, values: vec![], labels: vec![] };
        assert!(fit_temperature(&empty).unwrap_err().to_string().contains("--val-size"));
    }
}
