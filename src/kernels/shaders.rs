//! Every WGSL file in `shaders/`, compiled into the binary so the same kernels run natively
//! and in the browser.
//!
//! WGSL has no includes: code that several shaders share is kept once in `shaders/common/`
//! and appended here, at compile time, to the source of each shader that uses it. Appending
//! (rather than prepending) keeps a shader's `enable` directives first and naga's line numbers
//! those of its own file. A `Shader`'s `source` is the joined text, which is what naga
//! validates and the device compiles, natively and in the browser alike.

use crate::gpu::Shader;

/// `shader!(ID, "name", "common"...)`: `shaders/name.wgsl` followed by each
/// `shaders/common/<common>.wgsl`, in order.
macro_rules! shader {
    ($id:ident, $name:literal $(, $common:literal)*) => {
        pub static $id: Shader = Shader {
            name: $name,
            source: concat!(
                include_str!(concat!("../../shaders/", $name, ".wgsl")),
                $(include_str!(concat!("../../shaders/common/", $common, ".wgsl")),)*
            ),
        };
    };
}

shader!(MATMUL, "matmul", "outer_acc");
shader!(BIAS, "bias");
shader!(RELU, "relu");
shader!(CONV2D, "conv2d");
shader!(CONV_DIRECT, "conv_direct");
shader!(MAXPOOL, "maxpool");
shader!(SOFTMAX_XENT, "softmax_xent");
shader!(OPTIM, "optim");
shader!(ADV_LOSS, "adv_loss");
shader!(PGD, "pgd", "pcg", "workgroup_sum");
shader!(SELECT, "select");
shader!(MASK, "mask");
shader!(LEARNED_MASK, "learned_mask", "pcg");
shader!(TERNARY, "ternary", "ternary_finish");
shader!(TERNARY_F16, "ternary_f16", "ternary_finish");
shader!(HYPERSPHERE, "hypersphere");
shader!(QUANT, "quant");
shader!(BSR, "bsr", "bsr_block", "outer_acc");
shader!(BSR_TERNARY, "bsr_ternary", "bsr_block", "outer_acc");
shader!(BSR_FORMAT, "bsr_format");
shader!(IBP, "ibp");
shader!(CORRUPT, "corrupt", "pcg", "workgroup_sum");
shader!(FAULTS, "faults", "pcg");
shader!(APPROX, "approx");
shader!(WTA, "wta");
shader!(CHANNEL_SKIP, "channel_skip", "outer_acc");
shader!(ACT_THRESHOLD, "act_threshold");
shader!(CHANNEL_AFFINE, "channel_affine");
shader!(AVGPOOL, "avgpool");
shader!(DROPOUT, "dropout", "pcg");
shader!(BATCHNORM, "batchnorm", "workgroup_sum");
shader!(BATCHNORM_BACKWARD, "batchnorm_backward", "workgroup_sum");
shader!(AUGMENT, "augment", "pcg");
shader!(AUGMIX, "augmix", "bilinear", "pcg");
shader!(SPECTRUM, "spectrum");
shader!(GRADIENT_SIMILARITY, "gradient_similarity", "workgroup_sum");
shader!(SHIFT_NOISE, "shift_noise", "pcg");
shader!(SHIFT_TONE, "shift_tone");
shader!(SHIFT_PATTERN, "shift_pattern", "pcg");
shader!(SHIFT_EDGES, "shift_edges");
shader!(SHIFT_BLOCK, "shift_block");
shader!(SHIFT_BLUR, "shift_blur", "bilinear", "pcg");
shader!(SHIFT_WARP, "shift_warp", "bilinear");
shader!(SHIFT_WEATHER, "shift_weather", "pcg");
shader!(ROOFLINE, "roofline");

/// All shaders, for validation.
pub static ALL: &[&Shader] = &[&MATMUL, &BIAS, &RELU, &CONV2D, &CONV_DIRECT, &MAXPOOL, &SOFTMAX_XENT, &OPTIM, &ADV_LOSS, &PGD, &SELECT, &MASK, &LEARNED_MASK, &TERNARY, &TERNARY_F16, &HYPERSPHERE, &QUANT, &BSR, &BSR_TERNARY, &BSR_FORMAT, &IBP, &CORRUPT, &FAULTS, &APPROX, &WTA, &CHANNEL_SKIP, &ACT_THRESHOLD, &CHANNEL_AFFINE, &AVGPOOL, &DROPOUT, &BATCHNORM, &BATCHNORM_BACKWARD, &AUGMENT, &AUGMIX, &SPECTRUM, &GRADIENT_SIMILARITY, &SHIFT_NOISE, &SHIFT_TONE, &SHIFT_PATTERN, &SHIFT_EDGES, &SHIFT_BLOCK, &SHIFT_BLUR, &SHIFT_WARP, &SHIFT_WEATHER, &ROOFLINE];
