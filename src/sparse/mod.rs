//! Sparsity: pruning masks kept on the GPU (one per weight tensor, in `nn::Param::mask`),
//! magnitude pruning per layer or across layers by exact GPU top-k selection, sparsity
//! reports, prune-and-regrow and dynamic sparse training from scratch (RigL, SET), and the lottery-ticket procedure (iterative
//! magnitude pruning with rewinding).

mod crossover;
mod dynamic;
mod lottery;
mod prune;
mod regrow;
mod report;

#[cfg(not(target_arch = "wasm32"))]
pub use crossover::cache_path;
pub use crossover::{tune, Crossover};
pub use dynamic::{erk_densities, Distribution, DynamicMethod, DynamicSparseConfig};
pub use lottery::{lottery_ticket, LotteryConfig, LotteryRound};
pub use regrow::{prune_and_regrow, Grow};
pub use prune::{block_magnitude_prune, channel_prune, magnitude_prune, matrix_shape, nm_prune, random_prune, set_masks, snip_prune, Scope};
pub use report::{sparsity_report, LayerSparsity, SparsityReport};
