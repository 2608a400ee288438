//! Adversarial attacks, batched on the GPU: FGSM, PGD (L-inf and L2, untargeted and
//! targeted, random starts and restarts), APGD with CE and DLR losses, FAB-T and the Square
//! attack, and AutoAttack's standard combination of them; the per-example
//! worst case over steps, restarts and attacks; robustness curves, minimal adversarial
//! distances by bisection, and the sanity checks that expose gradient masking.

mod apgd;
mod batch;
mod checks;
mod config;
mod distance;
mod export;
mod fab;
mod hyperplane;
mod pgd;
mod probe;
mod robustness;
mod square;
mod training;

pub use apgd::apgd;
pub use batch::{runner_up_targets, Batch};
pub use checks::{sanity_checks, Check, LARGE_EPS_LIMIT};
pub use config::{conventional, AttackConfig, AttackName, AttackSettings, DistanceConfig, Method, SuiteConfig, STANDARD, STANDARD_TARGETS};
pub use distance::{minimal_distances, DistanceStats};
pub use export::export_examples;
pub use pgd::pgd;
pub use probe::{probe, Objective, Probe, WorstCase};
pub use robustness::{evaluate_robustness, fraction, robustness_curve, run_attack, upload_range, AttackOutcome, Robustness};
pub use training::{adv_data_defaults, craft, validation_robustness, AdvMethod, AdvTrainConfig};
