use super::shaders::CONV_DIRECT;
use super::conv2d::Params;
use super::Conv2dGeometry;
use crate::gpu::{grid_1d, grid_1d_of, Gpu, Kernel, Tensor};

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
    let ov = [("KH", g.kh as f64), ("KW", g.kw as f64), ("RELU", relu as u32 as f64), ("STRIDE", g.stride as f64)];
    if g.stride == 1 && g.kw <= 5 {
        // Four positions per invocation share each kernel row's inputs.
        let k = Kernel { shader: &CONV_DIRECT, entry: "conv_direct_quads" };
        gpu.launch(&k, &ov[..3], &p, &[x, bias, y, &packed], grid_1d(g.n * g.oh() * g.ow().div_ceil(4)));
    } else {
        let k = Kernel { shader: &CONV_DIRECT, entry: "conv_direct" };
        gpu.launch(&k, &ov, &p, &[x, bias, y, &packed], grid_1d(g.positions()));
    }
}

/// Lanes per workgroup of `weight_grad` and the quads (runs of four positions) each lane
/// should take at least: fewer lanes than that leave cores idle, more make more partial sums.
const GRAD_LANES: usize = 64;
const QUADS_PER_LANE: usize = 32;
/// Most quads one lane may take: llvmpipe stops an invocation's loop at 65,535 iterations.
const MAX_QUADS_PER_LANE: usize = 60_000;

/// Whether `conv_direct_weight_grad` takes a layer of `co` output channels over `g`: stride 1
/// and kernels up to 5x5 (the taps one lane sums at once), with `co` that `takes_direct`.
pub fn takes_direct_weight_grad(g: &Conv2dGeometry, co: usize) -> bool {
    g.stride == 1 && g.kh <= 5 && g.kw <= 5 && takes_direct(g, co)
}

/// The gradients of a direct convolution for dy [n, co, oh, ow]: dw [co, c*kh*kw] and dbias
/// [co], both overwritten, read straight from x and dy (see conv_direct.wgsl). Only for
/// layers `takes_direct_weight_grad` accepts.
pub fn conv_direct_weight_grad(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, dy: &Tensor, dw: &Tensor, dbias: &Tensor, co: usize) {
    assert!(takes_direct_weight_grad(g, co), "conv_direct_weight_grad: stride {} or a {}x{} kernel it does not take", g.stride, g.kh, g.kw);
    assert!(dw.numel() >= co * g.patch() && dbias.numel() >= co, "conv_direct_weight_grad: gradients smaller than [{co}, {}]", g.patch());
    assert!(dy.numel() >= g.n * co * g.oh() * g.ow(), "conv_direct_weight_grad: dy smaller than [{}, {co}, {}, {}]", g.n, g.oh(), g.ow());
    let quads = g.n * g.oh() * g.ow().div_ceil(4);
    let groups = quads.div_ceil(GRAD_LANES * QUADS_PER_LANE).max(quads.div_ceil(GRAD_LANES * MAX_QUADS_PER_LANE));
    let lanes = groups * GRAD_LANES;
    let parts = co.div_ceil(4) * g.c;
    // 26 slots (25 taps and the bias) of four channels per part and lane.
    let slots = parts * 26 * 4;
    let partial = gpu.empty(&[slots, lanes]);
    let p = Params::with_rows(g, co).with_lanes(lanes);
    let ov = [("KH", g.kh as f64), ("KW", g.kw as f64), ("DY_VEC4", g.ow().is_multiple_of(4) as u32 as f64)];
    // Bindings 1 x, 3 partial sums or dw, 5 dy or the partial sums, 6 dbias, 7 dy as vec4
    // (2 and 4 unused).
    let k = Kernel { shader: &CONV_DIRECT, entry: "weight_grad" };
    gpu.launch(&k, &ov, &p, &[x, x, &partial, x, dy, dy, dy], [groups as u32, parts as u32, 1]);
    let k = Kernel { shader: &CONV_DIRECT, entry: "reduce_weight_grad" };
    gpu.launch(&k, &[], &p, &[x, x, dw, x, &partial, dbias], grid_1d_of(slots, GRAD_LANES as u32));
}
