//! Calibration, ensembles and out-of-distribution detection: how far a model's confidence can
//! be trusted, and whether it notices images unlike its training data. The GPU runs the
//! forward passes (`predict`); everything after is plain Rust over [examples, classes]
//! matrices. Definitions, sources and conventions: docs/uncertainty.md.
//!
//! - `predict`: a model's logits over a whole data set, in batches that fit the adapter, with
//!   dropout active (Monte Carlo dropout) or augmented inputs (test-time augmentation);
//!   softmax probabilities from them.
//! - `metrics`: accuracy, expected calibration error (15 equal-width confidence bins), negative
//!   log-likelihood, Brier score, and the reliability diagram's bins.
//! - `temperature`: temperature scaling fitted on validation logits.
//! - `ensemble`: several checkpoints of one architecture, and stochastic or augmented passes,
//!   averaged in probability.
//! - `ood`: maximum softmax probability, energy and entropy scores; AUROC and FPR at 95% TPR.

pub mod ensemble;
pub mod metrics;
pub mod ood;
pub mod predict;
pub mod temperature;

pub use ensemble::{check_member_shapes, check_members, member_logits, predict_mean, Views};
pub use metrics::{calibration, reliability, Calibration, ReliabilityBin, ECE_BINS};
pub use ood::{auroc, energy_scores, entropy_scores, fpr_at_tpr, msp_scores, Detection, ScoreKind};
pub use predict::{check_dropout, logits, Augmentation, Logits, Pass, Probabilities};
pub use temperature::{fit_temperature, nll_at};
