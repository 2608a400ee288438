//! Kernel tests: every WGSL entry point against its plain-Rust reference in
//! `aer::reference`, on seeded random shapes (at most 32 cases per kernel) that include sizes
//! off the tile and workgroup boundaries, size-1 dimensions, and thin shapes at WebGPU's
//! default limits (a 128 MiB storage binding, 65,535 workgroups per grid dimension, 1-D grids
//! that spill into y). All tests share one device (`common::gpu`).
//!
//! Tolerances, as |gpu - ref| <= abs + rel * |ref| (u = 2^-24, the f32 unit roundoff;
//! references accumulate in f64 where they sum):
//!
//! | kernel                          | abs                                  | rel  | why |
//! |---------------------------------|--------------------------------------|------|-----|
//! | im2col, permutes, relu, maxpool, argmax | 0                            | 0    | pure data movement or selection |
//! | bias_add                        | 0                                    | 0    | one correctly rounded add |
//! | bias_grad                       | 0                                    | 0    | inputs are multiples of 1/64 and partial sums stay far below 2^18, so every order of summation is exact |
//! | matmul                          | 2e-5 sqrt(k) max|a| max|b|           | 1e-6 | an f32 dot product's rounding grows like u k E|ab|; for k <= 1e5 and uniform inputs this bound is >10x that, yet far below one product term |
//! | conv2d (im2col+matmul+permute+bias) | matmul's, with k = c kh kw       | 1e-6 | as matmul; bias adds one rounding |
//! | col2im                          | (kh kw)^2 u                          | 0    | <= kh kw terms of magnitude <= 1 per pixel |
//! | col2im adjoint identity         | 1e-6 kh kw sum|im2col(x) y|          |      | only col2im rounds: <= kh kw u per term |
//! | softmax_xent loss               | 2e-5                                 | 1e-6 | log/exp are a few ULP (Vulkan allows 3 + 2|x| ULP for exp), the final subtraction rounds at |loss| <= ~200 |
//! | softmax_xent dlogits            | 1e-5 / batch                         | 1e-6 | probabilities to a few ULP of 1, including the cancellation in p - 1, times 1/batch |
//! | sgd w, momentum                 | 2e-6                                 | 1e-5 | a few roundings of O(1) terms per step over 3 steps; the GPU may fuse a*b+c |
//! | adam w                          | 2e-6                                 | 1e-5 | as sgd; sqrt and division are not correctly rounded but the update is lr-scaled |
//! | adam m, v                       | 1e-6 max|ref|                        | 1e-5 | a couple of roundings each, relative to the moment's own scale |
//!
//! llvmpipe (lavapipe) stops any invocation after 65,535 loop iterations in total, which is
//! why no case here loops longer per invocation except where that is the point
//! (`matmul_long_k_conv_weight_gradient`).

mod common;
mod conv2d;
mod layers;
mod loss;
mod matmul;
mod optim;
mod shaders;
mod scratch;
