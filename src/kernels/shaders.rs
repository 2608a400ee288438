//! Every WGSL file in `shaders/`, compiled into the binary so the same kernels run natively
//! and in the browser.

use crate::gpu::Shader;

macro_rules! shader {
    ($id:ident, $name:literal) => {
        pub static $id: Shader = Shader { name: $name, source: include_str!(concat!("../../shaders/", $name, ".wgsl")) };
    };
}

shader!(MATMUL, "matmul");
shader!(BIAS, "bias");
shader!(RELU, "relu");
shader!(CONV2D, "conv2d");
shader!(CONV_DIRECT, "conv_direct");
shader!(MAXPOOL, "maxpool");
shader!(SOFTMAX_XENT, "softmax_xent");
shader!(OPTIM, "optim");
shader!(ADV_LOSS, "adv_loss");
shader!(PGD, "pgd");
shader!(SELECT, "select");
shader!(MASK, "mask");
shader!(LEARNED_MASK, "learned_mask");
shader!(TERNARY, "ternary");
shader!(TERNARY_F16, "ternary_f16");
shader!(HYPERSPHERE, "hypersphere");
shader!(QUANT, "quant");
shader!(BSR, "bsr");
shader!(BSR_FORMAT, "bsr_format");
shader!(IBP, "ibp");
shader!(CORRUPT, "corrupt");
shader!(FAULTS, "faults");
shader!(APPROX, "approx");
shader!(WTA, "wta");
shader!(CHANNEL_SKIP, "channel_skip");
shader!(ACT_THRESHOLD, "act_threshold");

/// All shaders, for validation.
pub static ALL: &[&Shader] = &[&MATMUL, &BIAS, &RELU, &CONV2D, &CONV_DIRECT, &MAXPOOL, &SOFTMAX_XENT, &OPTIM, &ADV_LOSS, &PGD, &SELECT, &MASK, &LEARNED_MASK, &TERNARY, &TERNARY_F16, &HYPERSPHERE, &QUANT, &BSR, &BSR_FORMAT, &IBP, &CORRUPT, &FAULTS, &APPROX, &WTA, &CHANNEL_SKIP, &ACT_THRESHOLD];
