//! Training on the GPU: the optimizer, the epoch loop (no readback inside an epoch),
//! evaluation, and checkpoints that let a run resume from any epoch.

mod adversarial;
mod certified;
mod checkpoint;
mod config;
mod evaluate;
mod epoch;
mod fit;
mod learner;
mod optimizer;

pub use adversarial::{craft, AdvMethod, AdvTrainConfig};
pub use certified::{certified_gradients, CertifiedConfig, CertifiedSlots};
pub use checkpoint::{Checkpoint, StoredSize, EpochRecord, CertifiedRecord, RobustRecord, FORMAT_VERSION};
pub use fit::{block_sparse, fit, validation_robustness, FitEvent, FitOptions, FitResult};
pub use config::{BlockPruneConfig, HqConfig, RelaxConfig, GradualPrune, SnipConfig, LrSchedule, OptimizerConfig, OptimizerKind, StructuredPrune, TrainConfig, WeightPerturbConfig};
pub use epoch::{train_epoch, EpochStats};
pub use evaluate::{evaluate, Evaluation};
pub use learner::Learner;
pub use optimizer::Optimizer;
