//! The training core: the optimizer, the epoch loop (no readback inside an epoch),
//! evaluation, checkpoints that let a run resume from any epoch, and the hooks through which
//! training methods (`method`: adversarial, certified, pruning, ...) change a run. The core
//! names no method; `crate::methods` lists them.

mod checkpoint;
mod config;
mod evaluate;
mod epoch;
mod fit;
mod learner;
mod masks;
mod method;
mod optimizer;

pub use checkpoint::{check_temperature, Checkpoint, StoredSize, EpochRecord, CertifiedRecord, RobustRecord, FORMAT_VERSION};
pub use fit::{block_sparse, fit, FitEvent, FitOptions, FitResult};
pub use config::{LrSchedule, OptimizerConfig, OptimizerKind, TrainConfig};
pub use epoch::{train_epoch, EpochStats};
pub use evaluate::{evaluate, forward_batches, Evaluation};
pub use learner::Learner;
pub use masks::{apply_masks, set_masks};
pub use method::{done, BatchCtx, Entry, EpochEnd, EpochStart, Hook, Method, MethodSettings, Methods, Registry, Restore, RunCtx, Step};
pub use optimizer::Optimizer;
