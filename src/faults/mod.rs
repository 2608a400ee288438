//! How fragile the weights themselves are: worst-case parameter corruption by gradient ascent
//! against random perturbations of the same size, per layer and for the whole model (and the
//! weight perturbation that corruption-resistant training steps through); random bit flips in
//! stored weights; approximate 8-bit multipliers.

mod corruption;
mod injection;
mod multiplier;
mod training;

pub use injection::{bit_flip_curve, multiplier_curve, FaultPoint, Storage};
pub use multiplier::{ProductTable, TableError};
pub use corruption::{corrupt, vulnerability_table, Corruption, CorruptionConfig, WeightPerturbation};
pub use training::WeightPerturbConfig;
