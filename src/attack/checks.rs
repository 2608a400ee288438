//! Sanity checks printed with every robustness evaluation, after the established advice on
//! evaluating defences (Carlini et al., 2019): a result that fails one of these points to a
//! broken attack or to gradient masking, not to a robust model.

use super::config::Method;
use super::robustness::Robustness;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// Large-radius robust accuracy above this is "not about 0".
pub const LARGE_EPS_LIMIT: f64 = 0.02;
/// A black-box attack that breaks more than this share of the examples every gradient attack
/// before it left robust points to masked gradients (AutoAttack's Square adds well under 1%
/// on models without masking).
pub const BLACK_BOX_GAIN_LIMIT: f64 = 0.01;

pub fn sanity_checks(r: &Robustness, curve: &[(f32, f64)]) -> Vec<Check> {
    let clean = r.clean_accuracy();
    let mut checks = Vec::new();
    let above: Vec<String> = r.attacks.iter().filter(|a| a.accuracy() > clean).map(|a| a.config.label()).collect();
    checks.push(Check {
        name: "robust accuracy <= clean accuracy",
        passed: above.is_empty() && r.worst_accuracy() <= clean,
        detail: if above.is_empty() { format!("clean {:.2}%", 100.0 * clean) } else { format!("above clean: {}", above.join(", ")) },
    });
    let rises: Vec<String> = curve.windows(2).filter(|w| w[1].1 > w[0].1).map(|w| format!("eps {} -> {}: {:.2}% -> {:.2}%", w[0].0, w[1].0, 100.0 * w[0].1, 100.0 * w[1].1)).collect();
    checks.push(Check {
        name: "robust accuracy does not rise with eps",
        passed: rises.is_empty(),
        detail: if rises.is_empty() { format!("{} radii", curve.len()) } else { rises.join("; ") },
    });
    if let Some(&(eps, acc)) = curve.iter().max_by(|a, b| a.0.total_cmp(&b.0)) {
        checks.push(Check {
            name: "robust accuracy reaches about 0 at a very large eps",
            passed: acc <= LARGE_EPS_LIMIT,
            detail: format!("{:.2}% at eps {eps} (limit {:.0}%)", 100.0 * acc, 100.0 * LARGE_EPS_LIMIT),
        });
    }
    checks.push(Check {
        name: "input gradients are not zero (gradient masking)",
        passed: r.zero_gradients == 0,
        detail: format!("{} of {} examples have an all-zero input gradient at the clean input", r.zero_gradients, r.labels.len()),
    });
    if let Some(sq) = r.attacks.iter().position(|a| a.config.method == Method::Square).filter(|&i| i > 0) {
        // Counted against the gradient attacks run before it (in a cascade, the only ones
        // whose results are known for every example Square attacked).
        let before = &r.attacks[..sq];
        let gained = (0..r.labels.len()).filter(|&i| before.iter().all(|a| a.robust[i]) && !r.attacks[sq].robust[i]).count();
        let share = gained as f64 / r.labels.len().max(1) as f64;
        checks.push(Check {
            name: "a black-box attack adds little to the gradient attacks (gradient masking)",
            passed: share <= BLACK_BOX_GAIN_LIMIT,
            detail: format!(
                "{} broke {gained} of {} examples that {} left robust ({:.2}%, limit {:.0}%)",
                r.attacks[sq].config.label(),
                r.labels.len(),
                before.iter().map(|a| a.config.label()).collect::<Vec<_>>().join(", "),
                100.0 * share,
                100.0 * BLACK_BOX_GAIN_LIMIT
            ),
        });
    }
    checks.push(Check {
        name: "the model outputs logits, not probabilities",
        passed: !r.outputs_probabilities,
        detail: if r.outputs_probabilities {
            "every output row is non-negative and sums to 1: attack the logits (remove the final softmax), or the loss saturates".into()
        } else {
            "outputs are not probability vectors".into()
        },
    });
    checks
}
