//! Plain-Rust CPU references for every kernel, written for obviousness rather than speed. The
//! kernel tests compare each GPU launcher against the function of the same name here.
//!
//! One module per shader: `reference::<name>` holds the references of `shaders/<name>.wgsl`,
//! tested in `kernels-test/<name>.rs` (the kernel tests check that every shader has both).
//! `common` holds what several references share: the PCG hash and uniform draws of
//! `shaders/common/pcg.wgsl`, and the dense weight products.

pub mod act_threshold;
pub mod adv_loss;
pub mod approx;
pub mod augment;
pub mod augmix;
pub mod avgpool;
pub mod batchnorm;
pub mod batchnorm_backward;
pub mod bias;
pub mod bsr;
pub mod bsr_ternary;
pub mod bsr_format;
pub mod channel_affine;
pub mod channel_skip;
pub mod common;
pub mod conv2d;
pub mod conv_direct;
pub mod corrupt;
pub mod dropout;
pub mod faults;
pub mod gradient_similarity;
pub mod hypersphere;
pub mod ibp;
pub mod learned_mask;
pub mod mask;
pub mod matmul;
pub mod maxpool;
pub mod optim;
pub mod pgd;
pub mod quant;
pub mod relu;
pub mod roofline;
pub mod select;
pub mod shift_block;
pub mod shift_blur;
pub mod shift_edges;
pub mod shift_noise;
pub mod shift_pattern;
pub mod shift_tone;
pub mod shift_warp;
pub mod shift_weather;
pub mod softmax_xent;
pub mod spectrum;
pub mod ternary;
pub mod ternary_f16;
pub mod wta;

pub use bias::{bias_add, bias_grad, bias_relu, relu_bias_grad};
pub use common::{weight_product, weight_product_grad, weight_product_t};
pub use conv2d::{col2im, im2col, permute_cnhw_to_nchw, permute_nchw_to_cnhw};
pub use conv_direct::{conv2d_backward_data, conv2d_backward_weight, conv2d_forward};
pub use mask::{apply_mask, mask_union, nm_mask};
pub use matmul::matmul;
pub use maxpool::{maxpool2_backward, maxpool2_forward};
pub use optim::{adam, sgd};
pub use quant::{channel_lasso, ternarize, ternary_pack, ternary_relax, ternary_ste, ternary_threshold};
pub use relu::{relu_backward, relu_forward};
pub use softmax_xent::{argmax, first_argmax, softmax_xent, trades_xent};
pub use ternary::{ternary_matmul, ternary_matmul_t};
pub use ternary_f16::{round_f16, ternary_matmul_f16};
