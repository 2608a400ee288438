//! Every training method, in the order their hooks run in a step and a run. A method is one
//! file: in the folder of what it uses (attack, verify, faults, sparse, quant), or here when it
//! belongs to none of them; and one line in `REGISTRY`. docs/adding-a-method.md shows the
//! whole change for a new one.

pub mod augment;
pub mod augmix;
pub mod gaussian_noise;

use crate::train::{Entry, Registry};

pub static REGISTRY: Registry = Registry(&[
    // Inputs: the batch every loss below trains on.
    Entry::of::<augment::Augment>(),
    Entry::of::<augmix::Augmix>(),
    Entry::of::<crate::watermark::WatermarkConfig>(),
    // Losses: a batch trains on the first of these that is on (they exclude each other).
    Entry::of::<crate::attack::AdvTrainConfig>(),
    Entry::of::<crate::verify::CertifiedConfig>(),
    Entry::of::<gaussian_noise::GaussianNoise>(),
    Entry::of::<crate::attack::UnpairConfig>(),
    // Gradients taken at other weights.
    Entry::of::<crate::faults::WeightPerturbConfig>(),
    // Masks before the first epoch.
    Entry::of::<crate::sparse::BlockPruneConfig>(),
    Entry::of::<crate::sparse::StructuredPrune>(),
    Entry::of::<crate::sparse::SnipConfig>(),
    Entry::of::<crate::sparse::LearnedMaskConfig>(),
    // Masks while training.
    Entry::of::<crate::sparse::DynamicSparseConfig>(),
    Entry::of::<crate::sparse::GradualPrune>(),
    Entry::of::<crate::sparse::EarlyBirdConfig>(),
    // Ternary weights.
    Entry::of::<crate::quant::RelaxConfig>(),
    Entry::of::<crate::quant::HqConfig>(),
]);
