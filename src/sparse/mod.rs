//! Sparsity: pruning masks kept on the GPU (one per weight tensor, in `nn::Param::mask`),
//! magnitude pruning per layer or across layers by exact GPU top-k selection, sparsity
//! reports, prune-and-regrow (RigL, SET), and the lottery-ticket procedure (iterative
//! magnitude pruning with rewinding).

mod lottery;
mod prune;
mod regrow;
mod report;

pub use lottery::{lottery_ticket, LotteryConfig, LotteryRound};
pub use regrow::{prune_and_regrow, Grow};
pub use prune::{magnitude_prune, set_masks, Scope};
pub use report::{sparsity_report, LayerSparsity, SparsityReport};
