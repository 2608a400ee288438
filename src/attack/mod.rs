//! Adversarial attacks, batched on the GPU: FGSM, PGD (L-inf and L2, untargeted and
//! targeted, random starts and restarts), APGD with CE and DLR losses, FAB-T and the Square
//! attack, and AutoAttack's standard combination of them; the per-example worst case over
//! steps, restarts and attacks; robustness curves, minimal adversarial distances by
//! bisection, and the sanity checks that expose gradient masking; a journal of finished
//! batches, so that a long evaluation resumes; transfer attacks through
//! another model (a compressed sibling), input-gradient similarity, and the Square attack
//! seeded with a transfer prior; similarity-unpairing, which fine-tunes a sibling away from
//! the full model's input gradients.

mod apgd;
mod batch;
mod checks;
mod config;
mod distance;
mod export;
mod fab;
mod hyperplane;
mod journal;
mod pgd;
mod prior_square;
mod probe;
mod robustness;
mod similarity;
mod square;
mod training;
mod transfer;
mod unpairing;

pub use apgd::apgd;
pub use batch::{runner_up_targets, Batch};
pub use checks::{sanity_checks, Check, BLACK_BOX_GAIN_LIMIT, LARGE_EPS_LIMIT};
pub use config::{conventional, AttackConfig, AttackName, AttackSettings, DistanceConfig, Method, SuiteConfig, STANDARD, STANDARD_TARGETS};
pub use distance::{minimal_distances, DistanceStats};
pub use export::export_examples;
pub use journal::{BatchLog, Journal, NoLog};
pub use pgd::pgd;
pub use prior_square::{prior_square, QueryOutcome};
pub use probe::{probe, Objective, Probe, WorstCase};
pub use robustness::{evaluate_robustness, evaluate_robustness_logged, fraction, robustness_curve, run_attack, upload_range, AttackOutcome, Robustness};
pub use similarity::{ce_input_gradient, gradient_cosines, mean_median};
pub use training::{adv_data_defaults, craft, validation_robustness, AdvMethod, AdvTrainConfig};
pub use transfer::{check_pair, transfer_attack, Transfer, TransferredAttack};
pub use unpairing::{unpairing_gradients, UnpairConfig};
