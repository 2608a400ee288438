use super::shaders::CONV_DIRECT;
use super::conv2d::Params;
use super::Conv2dGeometry;
use crate::gpu::{grid_1d, grid_1d_of, Gpu, Kernel, Tensor};

/// Output channels per part and the packed weights' size (`OUT`, `MAX_WEIGHTS` in the shader).
const OUT: usize = 16;
const MAX_WEIGHTS: usize = 16384;
/// The most (padded) weights the forward pass and weight gradient run directly with: on
/// llvmpipe cnn's conv2 (32 x 400 weights, 12,800) took longer directly than through im2col
/// and the product, its weight gradient about 1.6 times as long.
const FORWARD_MAX_WEIGHTS: usize = 4096;

/// Whether `conv_direct` takes a layer of `co` output channels over geometry `g`: its
/// weights, padded to parts of 16 channels, at most `FORWARD_MAX_WEIGHTS` (e.g. 1 or 3 input
/// channels, 5x5, up to 32 outputs).
pub fn takes_direct(g: &Conv2dGeometry, co: usize) -> bool {
    fits(g, co, OUT, FORWARD_MAX_WEIGHTS)
}

/// Whether `co` output channels over `g`, padded to whole parts of `part`, fit `max` weights.
fn fits(g: &Conv2dGeometry, co: usize, part: usize, max: usize) -> bool {
    co.div_ceil(part) * part * g.patch() <= max
}


/// The convolution over dy [n, co, oh, ow] whose output is the input gradient of a stride-1
/// convolution over `g`: same size images (oh x ow is h x w at stride 1), co input channels,
/// padded by kh - 1 - pad.
fn input_grad_geometry(g: &Conv2dGeometry, co: usize) -> Conv2dGeometry {
    Conv2dGeometry { n: g.n, c: co, h: g.oh(), w: g.ow(), kh: g.kh, kw: g.kw, stride: 1, pad: (g.kh - 1).saturating_sub(g.pad) }
}

/// Whether `conv_direct_input_grad` takes a layer of `co` output channels over `g`: stride 1,
/// square kernels up to 5 wide (the quads), padding below the kernel's size (the turned
/// convolution's, kh - 1 - pad, is then one too), at least `OUT` input channels (dx's
/// channels: parts of 16 of which a first layer's 1 or 3 would fill too few; on llvmpipe
/// cnn's conv1 took twice as long so even in parts of 4), and the turned weights fitting the
/// shader's 64 KiB uniform array (cnn's conv2: 16 x 800).
pub fn takes_direct_input_grad(g: &Conv2dGeometry, co: usize) -> bool {
    g.stride == 1 && g.kw <= 5 && g.kh == g.kw && g.pad < g.kh && g.c >= OUT && fits(&input_grad_geometry(g, co), g.c, OUT, MAX_WEIGHTS)
}

/// dx [n, c, h, w] = the gradient of a stride-1 convolution over `g` with weights w [co, c*kh*kw]
/// for dy [n, co, oh, ow]: a direct convolution of dy with the weights turned (see
/// conv_direct.wgsl's FLIP). Only for layers `takes_direct_input_grad` accepts.
pub fn conv_direct_input_grad(gpu: &Gpu, g: &Conv2dGeometry, dy: &Tensor, w: &Tensor, dx: &Tensor, co: usize) {
    assert!(takes_direct_input_grad(g, co), "conv_direct_input_grad: stride {}, a {}x{} kernel or padding {} it does not take", g.stride, g.kh, g.kw, g.pad);
    assert!(w.numel() >= co * g.patch(), "conv_direct_input_grad: weights smaller than [{co}, {}]", g.patch());
    assert!(dy.numel() >= g.n * co * g.oh() * g.ow(), "conv_direct_input_grad: dy smaller than [{}, {co}, {}, {}]", g.n, g.oh(), g.ow());
    assert!(dx.numel() >= g.n * g.c * g.h * g.w, "conv_direct_input_grad: dx smaller than [{}, {}, {}, {}]", g.n, g.c, g.h, g.w);
    let t = input_grad_geometry(g, co);
    let p = Params::with_rows(&t, g.c);
    let packed = gpu.empty(&[MAX_WEIGHTS]);
    gpu.launch(&Kernel { shader: &CONV_DIRECT, entry: "pack_weights" }, &[("FLIP", 1.0)], &p, &[w, w, &packed], grid_1d(g.c.div_ceil(OUT) * OUT * t.patch()));
    let ov = [("KH", g.kh as f64), ("KW", g.kw as f64), ("RELU", 0.0)];
    let k = Kernel { shader: &CONV_DIRECT, entry: "conv_direct_quads" };
    gpu.launch(&k, &ov, &p, &[dy, &gpu.zeros(&[g.c]), dx, &packed], grid_1d(g.n * g.h * g.w.div_ceil(4)));
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
    gpu.launch(&Kernel { shader: &CONV_DIRECT, entry: "pack_weights" }, &[], &p, &[w, w, &packed], grid_1d(co.div_ceil(OUT) * OUT * g.patch()));
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
