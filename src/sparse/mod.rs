//! Sparsity: pruning masks kept on the GPU (one per weight tensor, in `nn::Param::mask`),
//! magnitude pruning per layer or across layers by exact GPU top-k selection, sparsity
//! reports, prune-and-regrow and dynamic sparse training from scratch (RigL, SET), learned
//! masks (HYDRA's scores, hard-concrete gates with an L0 penalty), early-bird tickets, and
//! lottery tickets (iterative magnitude pruning with rewinding; COLT's overlapping masks).

mod block_prune;
mod dynamic;
mod early_bird;
mod gradual;
mod hard_concrete;
mod hydra;
mod learned;
mod lottery;
mod prune;
mod regrow;
mod report;
mod snip;
mod structured_prune;

pub use block_prune::BlockPruneConfig;
pub use dynamic::{erk_densities, Distribution, DynamicMethod, DynamicSparseConfig};
pub use early_bird::{mask_distance, EarlyBirdConfig, EarlyBirdSearch};
pub use gradual::GradualPrune;
pub use hard_concrete::HardConcreteGates;
pub use hydra::Hydra;
pub use learned::{learn_mask, LearnedMaskConfig, LearnedMethod};
pub use lottery::{lottery_ticket, LotteryConfig, LotteryRound};
pub use regrow::{prune_and_regrow, Grow};
pub use prune::{block_magnitude_prune, channel_prune, magnitude_prune, magnitude_prune_layers, nm_prune, random_prune, snip_prune, Scope};
pub use report::{sparsity_report, LayerSparsity, SparsityReport};
pub use snip::SnipConfig;
pub use structured_prune::StructuredPrune;
