use super::shaders::CONV_DIRECT;
use super::conv2d::Params;
use super::Conv2dGeometry;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// Output channels per part and the packed weights' size (`OUT`, `MAX_WEIGHTS` in the shader).
const OUT: usize = 16;
const MAX_WEIGHTS: usize = 4096;

/// Whether `conv_direct` takes a layer of `co` output channels over geometry `g`: its
/// weights, padded to parts of 16 channels, fit the shader's 16 KiB uniform array
/// (e.g. 1 or 3 input channels, 5x5, up to 32 outputs).
pub fn takes_direct(g: &Conv2dGeometry, co: usize) -> bool {
    co.div_ceil(OUT) * OUT * g.patch() <= MAX_WEIGHTS
}

/// y [n, co, oh, ow] = w [co, c*kh*kw] * x + bias, ReLU'd when `relu`, computed without an
/// im2col matrix (see conv_direct.wgsl). Only for layers `takes_direct` accepts.
pub fn conv_direct(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, w: &Tensor, bias: &Tensor, y: &Tensor, co: usize, relu: bool) {
    assert!(takes_direct(g, co), "conv_direct: {co} x {} weights do not fit its uniform array", g.patch());
    assert!(w.numel() >= co * g.patch() && bias.numel() >= co, "conv_direct: weights or bias smaller than [{co}, {}]", g.patch());
    assert!(y.numel() >= g.n * co * g.oh() * g.ow(), "conv_direct: y smaller than [{}, {co}, {}, {}]", g.n, g.oh(), g.ow());
    // (conv2d.wgsl's parameters: `rows` is co.)
    let p = Params::with_rows(g, co);
    let packed = gpu.empty(&[MAX_WEIGHTS]);
    // (pack_weights reads no bias: the weights stand in for its binding.)
    gpu.launch(&Kernel { shader: &CONV_DIRECT, entry: "pack_weights" }, &[], &p, &[w, w, &packed], grid_1d(MAX_WEIGHTS));
    let k = Kernel { shader: &CONV_DIRECT, entry: "conv_direct" };
    gpu.launch(&k, &[("STRIDE", g.stride as f64), ("KH", g.kh as f64), ("KW", g.kw as f64), ("RELU", relu as u32 as f64)], &p, &[x, bias, y, &packed], grid_1d(g.positions()));
}
