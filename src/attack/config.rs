//! Attack settings. Every parameter has the conventional default for the input's scale
//! (MNIST-like single-channel images or CIFAR-like colour images), and every resolved value
//! is printed in the report.

use crate::error::{AerError, Result};
use crate::kernels::{AdvLoss, Norm};
use serde::{Deserialize, Serialize};

/// The attacks `aer attack` knows, by their conventional names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), derive(clap::ValueEnum), value(rename_all = "kebab-case"))]
#[serde(rename_all = "kebab-case")]
pub enum AttackName {
    // The command line lists the names alone: `value(help = None)` keeps these docs out of it.
    /// One signed-gradient (or normalised-gradient) step of size eps, no random start.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Fgsm,
    /// Projected gradient descent on cross-entropy with a random start (Madry et al.).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Pgd,
    /// PGD minimising cross-entropy towards the runner-up classes, one per restart.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    PgdT,
    /// Auto-PGD on cross-entropy (Croce & Hein, 2020).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    ApgdCe,
    /// Auto-PGD on the difference-of-logits ratio.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    ApgdDlr,
    /// Targeted Auto-PGD on the targeted DLR loss, one runner-up class per restart.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    ApgdT,
    /// Targeted FAB (Croce & Hein, 2020), minimal L-inf perturbations, one runner-up class per restart.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    FabT,
    /// Square attack (Andriushchenko et al., 2020), score-based black box under L-inf.
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Square,
    /// AutoAttack's standard evaluation: APGD-CE, APGD-T (9 targets), FAB-T (9 targets) and
    /// Square (5,000 queries).
    #[cfg_attr(all(feature = "cli", not(target_arch = "wasm32")), value(help = None::<&'static str>))]
    Standard,
}

/// What AutoAttack's standard evaluation runs (Croce & Hein, 2020).
pub const STANDARD: [AttackName; 4] = [AttackName::ApgdCe, AttackName::ApgdT, AttackName::FabT, AttackName::Square];
/// Target classes of AutoAttack's APGD-T and FAB-T.
pub const STANDARD_TARGETS: usize = 9;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Pgd,
    Apgd,
    Fab,
    Square,
}

/// One fully specified attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackConfig {
    pub name: AttackName,
    pub method: Method,
    pub norm: Norm,
    pub loss: AdvLoss,
    pub eps: f32,
    /// PGD's step size (APGD starts at 2 eps and adapts; FAB and Square take none).
    pub step: f32,
    /// Iterations; Square's queries per example.
    pub steps: usize,
    /// Restarts; the number of runner-up target classes of a targeted attack.
    pub restarts: usize,
    pub random_start: bool,
    pub targeted: bool,
    pub seed: u64,
}

impl AttackConfig {
    /// Untargeted PGD on cross-entropy with a random start and one restart.
    pub fn pgd(norm: Norm, eps: f32, step: f32, steps: usize, seed: u64) -> AttackConfig {
        AttackConfig { name: AttackName::Pgd, method: Method::Pgd, norm, loss: AdvLoss::Ce, eps, step, steps, restarts: 1, random_start: true, targeted: false, seed }
    }

    /// A short label for reports, e.g. "PGD-40" or "APGD-CE".
    pub fn label(&self) -> String {
        match self.name {
            AttackName::Fgsm => "FGSM".into(),
            AttackName::Pgd => format!("PGD-{}", self.steps),
            AttackName::PgdT => format!("PGD-T-{}", self.steps),
            AttackName::ApgdCe => "APGD-CE".into(),
            AttackName::ApgdDlr => "APGD-DLR".into(),
            AttackName::ApgdT => "APGD-T".into(),
            AttackName::FabT => "FAB-T".into(),
            AttackName::Square => format!("Square-{}", self.steps),
            AttackName::Standard => "standard".into(),
        }
    }

    /// The same attack at another radius, with its step scaled in proportion.
    pub fn at_eps(&self, eps: f32) -> AttackConfig {
        let step = if self.eps > 0.0 { self.step * eps / self.eps } else { self.step };
        AttackConfig { eps, step, ..self.clone() }
    }
}

/// The conventional radius, step and step count for a norm and an input scale.
pub fn conventional(input: [usize; 3], norm: Norm) -> (f32, f32, usize) {
    let mnist_like = input[0] == 1;
    match (norm, mnist_like) {
        (Norm::Linf, true) => (0.3, 0.01, 40),
        (Norm::Linf, false) => (8.0 / 255.0, 2.0 / 255.0, 10),
        (Norm::L2, true) => (2.0, 0.1, 40),
        (Norm::L2, false) => (0.5, 0.125, 10),
    }
}

/// What a TOML `[attack]` table or the command line may set; anything left out takes the
/// conventional default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttackSettings {
    pub norm: Option<Norm>,
    pub eps: Option<f32>,
    pub step: Option<f32>,
    pub steps: Option<usize>,
    pub restarts: Option<usize>,
    pub apgd_steps: Option<usize>,
    /// FAB-T iterations (default 100).
    pub fab_steps: Option<usize>,
    /// Square's queries per example (default 5,000).
    pub square_queries: Option<usize>,
    pub attacks: Option<Vec<AttackName>>,
    /// Radii of the robustness curve (PGD).
    pub curve: Option<Vec<f32>>,
    /// Examples on the curve (spread evenly over the attacked ones).
    pub curve_n: Option<usize>,
    /// Examples whose minimal adversarial distance is estimated (0 to skip).
    pub distance_n: Option<usize>,
    pub distance_steps: Option<usize>,
    pub distance_iters: Option<usize>,
    pub seed: Option<u64>,
    /// Each attack only on the examples the attacks before it left robust, as AutoAttack
    /// runs them (default: with `standard`).
    pub cascade: Option<bool>,
}

impl AttackSettings {
    /// Settings given here win over `base`'s.
    pub fn or(self, base: AttackSettings) -> AttackSettings {
        AttackSettings {
            norm: self.norm.or(base.norm),
            eps: self.eps.or(base.eps),
            step: self.step.or(base.step),
            steps: self.steps.or(base.steps),
            restarts: self.restarts.or(base.restarts),
            apgd_steps: self.apgd_steps.or(base.apgd_steps),
            fab_steps: self.fab_steps.or(base.fab_steps),
            square_queries: self.square_queries.or(base.square_queries),
            attacks: self.attacks.or(base.attacks),
            curve: self.curve.or(base.curve),
            curve_n: self.curve_n.or(base.curve_n),
            distance_n: self.distance_n.or(base.distance_n),
            distance_steps: self.distance_steps.or(base.distance_steps),
            distance_iters: self.distance_iters.or(base.distance_iters),
            seed: self.seed.or(base.seed),
            cascade: self.cascade.or(base.cascade),
        }
    }
}

/// Settings of the minimal-distance bisection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistanceConfig {
    /// Examples (spread evenly over the attacked ones).
    pub n: usize,
    /// PGD steps per probe (step = 2.5 eps / steps).
    pub steps: usize,
    /// Bisection rounds: the distance is known to within max_eps / 2^iters.
    pub iters: usize,
    /// Upper end of the search: the whole input range.
    pub max_eps: f32,
}

/// Everything `aer attack` runs, resolved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteConfig {
    pub attacks: Vec<AttackConfig>,
    /// Each attack only on the examples still robust after the ones before it: the worst
    /// case is the same, each attack's own accuracy becomes the accuracy after it.
    pub cascade: bool,
    pub curve: Vec<f32>,
    pub curve_n: usize,
    pub distance: DistanceConfig,
}

impl SuiteConfig {
    pub fn resolve(s: &AttackSettings, input: [usize; 3], classes: usize) -> Result<SuiteConfig> {
        let norm = s.norm.unwrap_or(Norm::Linf);
        let (eps0, step0, steps0) = conventional(input, norm);
        let eps = s.eps.unwrap_or(eps0);
        let steps = s.steps.unwrap_or(steps0);
        // With a non-default radius or step count the step keeps the default's proportion to
        // eps / steps, so that the steps still cover the ball as far as the default's do.
        let step = s.step.unwrap_or(step0 * (eps / eps0) * (steps0 as f32 / steps.max(1) as f32));
        let restarts = s.restarts.unwrap_or(1);
        let apgd_steps = s.apgd_steps.unwrap_or(100);
        let seed = s.seed.unwrap_or(0);
        if !(eps >= 0.0 && eps.is_finite() && step > 0.0 && step.is_finite()) {
            return Err(AerError::Invalid(format!("attack eps must be >= 0 and step > 0 (got eps {eps}, step {step})")));
        }
        if norm == Norm::Linf && eps > 1.0 {
            return Err(AerError::Invalid(format!("L-inf eps {eps} is more than the [0, 1] pixel range (eps 1 already allows any image); give it in pixel units, e.g. 8/255 or 0.3")));
        }
        if steps == 0 || restarts == 0 || apgd_steps == 0 {
            return Err(AerError::Invalid("attack steps, apgd_steps and restarts must be at least 1".into()));
        }
        let fab_steps = s.fab_steps.unwrap_or(100);
        let square_queries = s.square_queries.unwrap_or(5000);
        if fab_steps == 0 || square_queries == 0 {
            return Err(AerError::Invalid("fab_steps and square_queries must be at least 1".into()));
        }
        let given = s.attacks.clone().unwrap_or_else(|| vec![AttackName::Fgsm, AttackName::Pgd, AttackName::ApgdCe, AttackName::ApgdDlr]);
        if given.is_empty() {
            return Err(AerError::Invalid("the attack list is empty; name at least one of fgsm, pgd, pgd-t, apgd-ce, apgd-dlr, apgd-t, fab-t, square, standard".into()));
        }
        // `standard` stands for AutoAttack's four attacks at AutoAttack's restarts and targets.
        let names: Vec<(AttackName, bool)> =
            given.iter().flat_map(|&n| if n == AttackName::Standard { STANDARD.map(|a| (a, true)).to_vec() } else { vec![(n, false)] }).collect();
        let kebab = |name: AttackName| serde_json::to_string(&name).unwrap().trim_matches('"').to_string();
        for (name, need) in [(AttackName::ApgdDlr, 3), (AttackName::ApgdT, 4)] {
            if let Some(&(_, standard)) = names.iter().find(|&&(n, _)| n == name).filter(|_| classes < need) {
                let (what, fix) = match standard {
                    true => (format!("the standard (AutoAttack) evaluation runs {}, which", kebab(name)), "name its other attacks instead: apgd-ce,fab-t,square"),
                    false => (kebab(name), "drop it from the attack list"),
                };
                return Err(AerError::Invalid(format!("{what} needs at least {need} classes (its DLR loss ranks the logits); this data has {classes}: {fix}")));
            }
        }
        if norm != Norm::Linf {
            if let Some(&(name, standard)) = names.iter().find(|(n, _)| matches!(n, AttackName::FabT | AttackName::Square)) {
                let which = if standard { "standard (AutoAttack) evaluation".to_string() } else { kebab(name) };
                return Err(AerError::Invalid(format!("the {which} is implemented for L-inf only; use --norm linf or drop it from the attack list")));
            }
        }
        let all_targets = STANDARD_TARGETS.min(classes.saturating_sub(1)).max(1);
        let attacks = names
            .iter()
            .map(|&(name, standard)| {
                let (method, loss, targeted) = match name {
                    AttackName::Fgsm | AttackName::Pgd => (Method::Pgd, AdvLoss::Ce, false),
                    AttackName::PgdT => (Method::Pgd, AdvLoss::Ce, true),
                    AttackName::ApgdCe => (Method::Apgd, AdvLoss::Ce, false),
                    AttackName::ApgdDlr => (Method::Apgd, AdvLoss::Dlr, false),
                    AttackName::ApgdT => (Method::Apgd, AdvLoss::Dlr, true),
                    AttackName::FabT => (Method::Fab, AdvLoss::Margin, true),
                    AttackName::Square | AttackName::Standard => (Method::Square, AdvLoss::Margin, false),
                };
                let fgsm = name == AttackName::Fgsm;
                let restarts = match (name, standard) {
                    (AttackName::Fgsm | AttackName::Square, _) | (AttackName::ApgdCe, true) => 1,
                    (AttackName::ApgdT, true) | (AttackName::FabT, true) => all_targets,
                    // FAB has no random start: a target class twice would repeat itself.
                    (AttackName::FabT, false) => s.restarts.unwrap_or(all_targets).min(all_targets),
                    _ => restarts,
                };
                AttackConfig {
                    name,
                    method,
                    norm,
                    loss,
                    eps,
                    step: match method {
                        _ if fgsm => eps,
                        Method::Pgd | Method::Apgd => step,
                        Method::Fab | Method::Square => 0.0,
                    },
                    steps: match method {
                        _ if fgsm => 1,
                        Method::Pgd => steps,
                        Method::Apgd => apgd_steps,
                        Method::Fab => fab_steps,
                        Method::Square => square_queries,
                    },
                    restarts,
                    // FAB starts at the clean input; Square at its vertical stripes of +-eps.
                    random_start: !fgsm && method != Method::Fab,
                    targeted,
                    seed,
                }
            })
            .collect();
        let max_eps = match norm {
            Norm::Linf => 1.0,
            Norm::L2 => (input.iter().product::<usize>() as f32).sqrt(),
        };
        let curve = match &s.curve {
            Some(c) => c.clone(),
            None => {
                // Zero, eight points up to 1.5 eps, and the whole input range, where any
                // honest attack must succeed.
                let mut c: Vec<f32> = (0..=8).map(|i| eps * 1.5 * i as f32 / 8.0).collect();
                c.push(max_eps);
                c
            }
        };
        if curve.iter().any(|e| !(*e >= 0.0 && e.is_finite())) {
            return Err(AerError::Invalid(format!("curve radii must be finite and >= 0: {curve:?}")));
        }
        let distance = DistanceConfig { n: s.distance_n.unwrap_or(500), steps: s.distance_steps.unwrap_or(20), iters: s.distance_iters.unwrap_or(10), max_eps };
        let cascade = s.cascade.unwrap_or(given.contains(&AttackName::Standard));
        Ok(SuiteConfig { attacks, cascade, curve, curve_n: s.curve_n.unwrap_or(500), distance })
    }
}

impl SuiteConfig {
    /// The attack the robustness curve uses: the suite's untargeted multi-step PGD, else a
    /// conventional PGD with the same settings.
    pub fn curve_attack(&self, settings: &AttackSettings, input: [usize; 3], classes: usize) -> Result<AttackConfig> {
        if let Some(a) = self.attacks.iter().find(|a| a.method == Method::Pgd && a.steps > 1 && !a.targeted) {
            return Ok(a.clone());
        }
        Ok(SuiteConfig::resolve(&AttackSettings { attacks: Some(vec![AttackName::Pgd]), ..settings.clone() }, input, classes)?.attacks[0].clone())
    }
}
