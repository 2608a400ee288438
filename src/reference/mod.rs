//! Plain-Rust CPU references for every kernel, written for obviousness rather than speed. The
//! kernel tests compare each GPU launcher against the function of the same name here.

pub mod act_threshold;
pub mod approx;
pub mod attack;
pub mod bsr;
pub mod channel_skip;
pub mod ibp;
mod conv2d;
pub mod corrupt;
pub mod faults;
pub mod hypersphere;
mod layers;
pub mod learned_mask;
mod loss;
mod matmul;
mod optim;
pub mod quant;
pub mod select;
mod weights;
pub mod wta;

pub use conv2d::{col2im, conv2d_backward_data, conv2d_backward_weight, conv2d_forward, im2col, permute_cnhw_to_nchw, permute_nchw_to_cnhw};
pub use layers::{apply_mask, bias_add, mask_union, nm_mask, bias_grad, maxpool2_backward, maxpool2_forward, relu_backward, relu_forward};
pub use loss::{argmax, first_argmax, softmax_xent, trades_xent};
pub use matmul::matmul;
pub use optim::{adam, sgd};
pub use weights::{weight_product, weight_product_grad, weight_product_t};
pub use quant::{channel_lasso, round_f16, ternarize, ternary_matmul, ternary_matmul_f16, ternary_matmul_t, ternary_pack, ternary_relax, ternary_ste, ternary_threshold};
