//! Typed launchers, one file per shader in `shaders/`. Each records a dispatch on the GPU's
//! pending encoder; nothing here waits. The CPU references they are tested against live in
//! `crate::reference` with the same names.

mod act_threshold;
mod adv_loss;
mod approx;
mod bias;
mod bsr;
mod channel_skip;
mod conv2d;
mod conv_direct;
mod corrupt;
mod faults;
mod hypersphere;
mod ibp;
mod layout;
mod learned_mask;
mod mask;
mod matmul;
mod maxpool;
mod optim;
mod pgd;
mod quant;
mod relu;
mod select;
mod softmax_xent;
mod ternary;
mod ternary_f16;
mod variant;
mod wta;
pub mod shaders;

pub use act_threshold::{threshold_backward, threshold_forward, threshold_learn, THRESHOLD_GROUPS};
pub use adv_loss::{adv_loss, AdvLoss, AdvLossInputs};
pub use approx::{absmax, approx_product, lut_matmul, quantize_i8, TABLE_ENTRIES};
pub use bias::{bias_add, bias_grad, bias_grad_accumulate};
pub use bsr::{block_norm_keys, bsr_conv_backward_data, bsr_conv_forward, bsr_conv_weight_grad, bsr_gather, bsr_matmul, bsr_matmul_t, bsr_weight_grad, expand_block_mask, ActiveColumns, Bsr, BSR_BLOCKS};
pub use corrupt::{l2_ascent, l2_project, linf_ascent, random_corner, random_normal, sum_squares, Radius};
pub use faults::{flip_bits, flip_bits_f16};
pub use hypersphere::{row_norms, sphere_project, ternary_reinit};
pub use ibp::{abs_values, ibp_input, ibp_margin, ibp_margin_backward, ibp_maxpool, ibp_maxpool_backward, ibp_relu, ibp_relu_backward, ibp_worst_from_bounds, negate_values, sign_accumulate};
pub use layout::ActivationLayout;
pub use learned_mask::{gate_backward, gate_forward, gate_open_probability, score_grad, HardConcrete};
pub use channel_skip::{skip_conv, skip_conv_backward_data, skip_conv_weight_grad, skip_linear, skips_weight_grad, SkipShape};
pub use conv_direct::{conv_direct, conv_direct_weight_grad, takes_direct, takes_direct_weight_grad};
pub use conv2d::{col2im, col2im_kept, col2im_rows, cnhw_to_nchw, im2col, im2col_kept, im2col_rows, nchw_to_cnhw, Conv2dGeometry};
pub use mask::{apply_mask, mask_union, nm_mask};
pub use matmul::{matmul, matmul_with, matvec, takes_dot, MatmulForm, MatmulVariant};
pub use maxpool::{maxpool2_backward, maxpool2_forward};
pub use optim::{adam, sgd, AdamParams, SgdParams};
pub use pgd::{apgd_checkpoint, apgd_step, keep_best, keep_max, pgd_step, random_start, ApgdState, Norm, Start, APGD_STATE_WORDS};
pub use relu::{relu_backward, relu_forward};
pub use select::{magnitude_keys, restrict_keys, select_top_k, Candidates};
pub use quant::{channel_lasso, ternarize, ternary_pack, ternary_relax, ternary_ste, ternary_threshold, TernaryGroups, ThresholdRule};
pub use softmax_xent::{argmax, softmax_xent, softmax_xent_weighted, trades_xent};
pub use ternary::{ternary_matmul, ternary_matmul_t, ternary_matmul_with, words_per_row, PackedTernary, TernaryVariant};
pub use ternary_f16::{ternary_matmul_f16, to_f16, to_f32};
pub use wta::{wta_apply, wta_select, WtaShape, WTA_MAX_CHANNELS};
