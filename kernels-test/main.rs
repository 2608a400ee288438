//! Kernel tests: every WGSL entry point against its plain-Rust reference in
//! `aer::reference`, on seeded random shapes (at most 32 cases per kernel) that include sizes
//! off the tile and workgroup boundaries, size-1 dimensions, and thin shapes at WebGPU's
//! default limits (a 128 MiB storage binding, 65,535 workgroups per grid dimension, 1-D grids
//! that spill into y). All tests share one device (`common::gpu`).
//!
//! Files are named after shaders: `kernels-test/<name>.rs` tests `shaders/<name>.wgsl`
//! against `aer::reference::<name>` (src/reference/<name>.rs), and `pcg.rs` tests the
//! snippet `shaders/common/pcg.wgsl`. `shaders::files_are_named_after_shaders` keeps it so;
//! `common.rs` is the harness and `shaders.rs` the static checks of every shader.
//!
//! Tolerances, as `abs(gpu - ref) <= abs + rel * abs(ref)` per element (`u` = 2^-24, the f32
//! unit roundoff; `amax(x)` = largest magnitude in x; references accumulate in f64):
//!
//! | kernel | abs | rel | why |
//! |---|---|---|---|
//! | im2col, permutes, relu, maxpool, argmax | 0 | 0 | pure data movement or selection |
//! | augment (crop, flip) | 0 | 0 | pure data movement: each value copied or 0 |
//! | augmix (tone operations; with geometric ones) | 1e-6; 1e-5, all but 1% of values | 0 | 8-bit tone maps are exact and the mixture rounds a few products of values in [0, 1]; bilinear weights from f32 coordinates (rotations by whole degrees, their cos and sin uploaded from f64) fused or not, and a later tone step may move a value within rounding of an 8-bit level by one level |
//! | shift_blur; shift_warp (corruptions of [0, 1] images) | 2e-6; 1e-5 | 0 | sums of at most a few hundred products of values in [0, 1] with normalised weights (the GPU may fuse or reorder); warps take bilinear weights from f32 coordinates of up to ~40 pixels, each rounded (and fused or not) apart; translate's whole-pixel shifts copy values exactly |
//! | shift_weather (fog, spatter, snow, frost) | 1e-5 (frost 1e-3: its needles come from sin and cos, within 2^-11 in WGSL), spatter and snow: all but 1% of values | 0 | smoothstep noise and min-max scaling; cos, sin and sqrt of the frost needles; spatter and snow threshold a blurred field, where a value within rounding of the threshold falls either side and moves its few blurred neighbours |
//! | spectrum (rows, cols, mean) | 1e-6 h w | 1e-5 | sums of h w products of values in [0, 1] with f32 twiddles (computed in f64), rounded along rows then columns, and a mean over the planes; a mean over 65,536 planes (a sum in order) within 4e-3 relative |
//! | bias_add | 0 | 0 | one correctly rounded add |
//! | bias_grad | 0 | 0 | inputs are multiples of 1/64 and partial sums stay far below 2^18, so any summation order is exact |
//! | matmul (main, main_blocked, main_wide, main_dot, reduce_splits) | 2e-5 sqrt(k) amax(a) amax(b) | 1e-6 | an f32 dot product's rounding grows like u k E(ab); for k <= 1e5 and uniform inputs this is >10x that, yet far below one product term |
//! | roofline fma_peak; stream_copy | 1e-6 (1 + min(steps, 1000)); 0 | 1e-6; 0 | eight chains s = 0.999 s + 0.001 from values below 4, fused or not: each step rounds once or twice (2^-24 relative) and a chain forgets old errors only by 0.999 a step, so ~1000 steps' roundings add up (measured: 5e-5 at 1000 steps); a copy is exact |
//! | conv2d (im2col, matmul, permute, bias) | as matmul, k = c kh kw | 1e-6 | as matmul; the bias adds one rounding |
//! | col2im | (kh kw)^2 u | 0 | at most kh kw terms of magnitude <= 1 per pixel |
//! | col2im adjoint: <im2col(x), y> = <x, col2im(y)> | 1e-6 kh kw sum(abs(im2col(x) y)) | | only col2im rounds, <= kh kw u per term |
//! | softmax_xent loss | 2e-5 | 1e-6 | exp and log are a few ULP (Vulkan allows 3 + 2 abs(x) ULP for exp); the last subtraction rounds at losses up to ~200 |
//! | softmax_xent dlogits | 1e-5 / batch | 1e-6 | probabilities within a few ULP of 1, so p - 1 too, times 1 / batch |
//! | trades_xent loss, dlogits | 1e-4; 2e-5 (1 + max loss) / batch | 1e-5 | as softmax_xent, plus beta times a KL of up to ~200 nats whose rounding enters every p (log p - log q - KL) |
//! | adv_loss (CE, DLR, KL) | 2e-5 | 1e-5 | exp/log as above; DLR's ratio divides by gaps of at least 0.27 by construction |
//! | random_start box | 3e-7 | 0 | a few f32 roundings of values in [0, 1] |
//! | pcg, pcg_uniform01 | 0 | 0 | integer arithmetic; a 24-bit integer times 2^-24 |
//! | random_start ball, gaussian | 3e-3 | 0 | log, cos and pow: Vulkan allows cos an absolute error of 2^-11, times normal draws up to ~5.6 |
//! | pgd_step L-inf; apgd_step L-inf | 2.4e-7; 1e-6 | 0 | one rounding of x + step (clamps are exact); APGD's momentum mix adds a few |
//! | pgd_step L2; apgd_step L2 | 1e-5; 2e-5 | 0 | norms from differently ordered reductions |
//! | keep_best, keep_max, apgd_checkpoint | 0 | 0 | comparisons and copies |
//! | ternary_matmul(_t, _wide), matvec, ternarize, ternary_pack, ternary_ste | 0 | 0 | dyadic inputs and scales: every product and partial sum is exact |
//! | row_norms, sphere_project, ternary_reinit | 1e-7 | 2e-6 | a norm's square root and a division (or sqrt of a count), the sum in another order |
//! | wta_select, wta_apply | 0 | 0 | sums of the same f32 values in the same order, comparisons and a product by 0 or 1 |
//! | skip_linear, skip_conv, im2col with KEPT | 0 | 0 | dyadic inputs: every product and partial sum is exact |
//! | threshold_forward, threshold_backward | 0 | 0 | a selection; one rounded add, as the reference does it |
//! | threshold_stats + threshold_learn | 1e-7 | 1e-5 | a mean of up to 2^24 values summed in another order |
//! | ternary_matmul_f16; f32_to_f16 | 0 | 2^-10 | dyadic inputs exact in f16; WGSL may round y's (and a conversion's) last f16 bit either way |
//! | ibp (all entries) | 0 | 0 | dyadic inputs scaled so that every sum stays exact |
//! | sum_squares | 0 | 2e-6 | up to 2^24 positive terms summed in another order |
//! | l2_ascent, l2_project | 1e-6 | 1e-6 | a norm's square root and one division |
//! | linf_ascent, random_corner | 4e-7 (1 + r) | 0 | the radius from a square root (a few ULP) |
//! | random_normal | 3e-3 | 0 | as random_start's Gaussian draws |
//! | flip_bits, flip_bits_f16 | 0 | 0 | bit patterns, on values exact in f16 |
//! | absmax, quantize_i8 | 0 | 0 | selection, and rounding of exact products (scales of exactly 1) |
//! | lut_matmul | 0 | 1e-6 | an exact i32 sum times two scales from a division |
//! | bsr_matmul(_t), bsr_weight_grad, bsr_gather, the BSR structure | 0 | 0 | dyadic inputs: every product and partial sum is exact |
//! | bsr_ternary_matmul(_t) | 0 | 0 | dyadic inputs and scales: every product and partial sum is exact |
//! | ternary_relax; channel_lasso | 3e-7; 1e-7 | 1e-6 | a product, an add and a division; a norm summed in another order |
//! | channel_affine; channel_scale | 3.1e-7; 0 | 6e-8; 0 | fma fused or not (a product up to 5 rounded, then the add); one product |
//! | global_avgpool (forward, backward); dropout | 0 | 3e-7 | dyadic sums are exact, then one division (WGSL: within 2.5 ULP) |
//! | bn_train_stats, bn_eval_affine | 2e-6 (scale, shift 1e-5) | 2e-5 | means and variances of up to 32k values summed in another order; inverseSqrt within a few ULP |
//! | bn_backward_reduce; bn_backward_dx | 1e-5 sqrt(m); 4e-7 times the largest term | 1e-5 | sums of m terms in another order; m dy - dbeta - xhat dgamma cancels |
//! | ternary_threshold | 1e-7 | 1e-5 | a mean or maximum of up to 10^5 magnitudes, summed in another order |
//! | score_grad | 0 | 0 | one product of dyadic values and a sign |
//! | gate_forward, gate_open_probability | 1e-5; 1e-6 | 0 | exp, log and a division of values in [0, 1]; the draw's u rounds in f32 near 1, where log(1 - u) magnifies it |
//! | gate_backward | 1e-7; 2e-6 | 1e-6; 1e-5 | a product with the gate; the sigmoid's and s(1 - s)'s few ULP |
//! | row_cosine | 2e-6 | 2e-6 | norms and a dot product summed in another order, a square root and a division |
//! | unpair_points; scale_rows | 1e-6; 0 | 1e-6; 0 | two divisions, a product and an add per coordinate (the weights: a product and a division); one product |
//! | sgd w and momentum | 2e-6 | 1e-5 | a few roundings of O(1) terms per step, 3 steps; the GPU may fuse a*b+c |
//! | adam w | 2e-6 | 1e-5 | as sgd; sqrt and division are not correctly rounded, but the update is scaled by lr |
//! | adam m, v | 1e-6 amax(ref) | 1e-5 | a couple of roundings each, relative to the moment's own scale |
//! | shift_noise impulse; stripe | 0 | 0 | exact uniform draws and comparisons; 1 - x rounds once on both sides |
//! | shift_noise gaussian | 3e-3 | 0 | Box-Muller's log and cos (Vulkan: cos within 2^-11) times draws up to ~5.6, times a <= 0.4 |
//! | shift_noise shot; canny_edges; jpeg | 1e-6 (jpeg 1e-6 abs) | 1e-6 | discrete steps (a Poisson count, a threshold, a rounded coefficient) may fall the other way within a few ULP: at most 0.2% (shot), 1% (canny, jpeg) of elements outside, all within one count / 1 / 0.2 |
//! | brightness; contrast | 3e-7; 2e-5 | 1e-6; 0 | an add, a division and a product; a mean of up to 1,600 values in f32 |
//! | dotted_line, zigzag | 2e-3 | 0 | log, atan, sin, cos in f32 against f64 (sin and cos within 2^-11 in WGSL, as SwiftShader has them); pixels at a segment's end column may flip, steep segments magnify the angle's rounding (dotted lines at most 1%; zigzags, with an end at every tooth, at most 6%: SwiftShader's coarser sin and cos move more end pixels) |
//! | pixelate | 1e-6 | 1e-6 | a sum of at most 16 values and a division |
//!
//! llvmpipe (lavapipe) silently stops any invocation after 65,535 loop iterations in total
//! (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS), so cases keep per-invocation loops below that except
//! where that is the point (`matmul_long_k`).

mod act_threshold;
mod adv_loss;
mod approx;
mod augment;
mod augmix;
mod avgpool;
mod batchnorm;
mod batchnorm_backward;
mod bias;
mod bsr;
mod bsr_ternary;
mod bsr_format;
mod channel_affine;
mod channel_skip;
mod common;
mod conv2d;
mod conv_direct;
mod corrupt;
mod dropout;
mod faults;
mod gradient_similarity;
mod hypersphere;
mod ibp;
mod learned_mask;
mod mask;
mod matmul;
mod maxpool;
mod optim;
mod pcg;
mod pgd;
mod quant;
mod relu;
mod roofline;
mod select;
mod shift_block;
mod shift_edges;
mod shift_noise;
mod shift_pattern;
mod shift_tone;
mod shaders;
mod shift_blur;
mod shift_warp;
mod shift_weather;
mod softmax_xent;
mod spectrum;
mod ternary;
mod ternary_f16;
mod wta;
