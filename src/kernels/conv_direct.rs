use super::shaders::CONV_DIRECT;
use super::conv2d::Params;
use super::Conv2dGeometry;
use crate::gpu::{grid_1d, grid_1d_of, Gpu, Kernel, Tensor};

/// Output channels per part and the packed weights' size (`OUT`, `MAX_WEIGHTS` in the shader).
const OUT: usize = 16;
const MAX_WEIGHTS: usize = 16384;
/// The most (padded) weights the forward pass other than the quads, and the weight gradient
/// reading x from storage, run directly with: on llvmpipe cnn's conv2 (32 x 400 weights,
/// 12,800) took about 1.6 times as long that way as through im2col and the product. Its forward pass
/// by the quads is faster (pgd10/cnn/b128 7.7 against 6.0 s: an attack's forward pass then
/// builds no im2col matrix), and so is its weight gradient through windows.
const SMALL_WEIGHTS: usize = 4096;

/// Whether `conv_direct` takes a layer of `co` output channels over `g`: its weights, padded
/// to parts of 16 channels, at most `SMALL_WEIGHTS`, or for the quads (stride 1, kernels up to
/// 5 wide) fitting the shader's 64 KiB uniform array (cnn's conv2, 32 x 16 x 5 x 5).
pub fn takes_direct(g: &Conv2dGeometry, co: usize) -> bool {
    fits(g, co, OUT, SMALL_WEIGHTS) || (takes_quads(g) && fits(g, co, OUT, MAX_WEIGHTS))
}

/// Whether `conv_direct_quads` computes a convolution over `g`.
fn takes_quads(g: &Conv2dGeometry) -> bool {
    g.stride == 1 && g.kw <= 5
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
/// convolution's, kh - 1 - pad, is then one too), one input channel (`conv_direct_single`) or
/// at least `OUT` (dx's channels: parts of 16 of which a colour layer's 3 would fill too few;
/// on llvmpipe cnn's conv1 took twice as long so even in parts of 4), and the turned weights
/// fitting the shader's 64 KiB uniform array (cnn's conv2: 16 x 800).
pub fn takes_direct_input_grad(g: &Conv2dGeometry, co: usize) -> bool {
    g.stride == 1 && g.kw <= 5 && g.kh == g.kw && g.pad < g.kh && (g.c == 1 || g.c >= OUT) && fits(&input_grad_geometry(g, co), g.c, OUT, MAX_WEIGHTS)
}

/// dx [n, c, h, w] = the gradient of a stride-1 convolution over `g` with weights w [co, c*kh*kw]
/// for dy [n, co, oh, ow]: a direct convolution of dy with the weights turned (see
/// conv_direct.wgsl's FLIP). Only for layers `takes_direct_input_grad` accepts.
pub fn conv_direct_input_grad(gpu: &Gpu, g: &Conv2dGeometry, dy: &Tensor, w: &Tensor, dx: &Tensor, co: usize) {
    conv_direct_input_grad_with(gpu, QuadsInput::for_gpu(gpu), g, dy, w, dx, co)
}

/// `conv_direct_input_grad` with dy read as `input` says.
pub fn conv_direct_input_grad_with(gpu: &Gpu, input: QuadsInput, g: &Conv2dGeometry, dy: &Tensor, w: &Tensor, dx: &Tensor, co: usize) {
    assert!(takes_direct_input_grad(g, co), "conv_direct_input_grad: stride {}, a {}x{} kernel or padding {} it does not take", g.stride, g.kh, g.kw, g.pad);
    assert!(w.numel() >= co * g.patch(), "conv_direct_input_grad: weights smaller than [{co}, {}]", g.patch());
    assert!(dy.numel() >= g.n * co * g.oh() * g.ow(), "conv_direct_input_grad: dy smaller than [{}, {co}, {}, {}]", g.n, g.oh(), g.ow());
    assert!(dx.numel() >= g.n * g.c * g.h * g.w, "conv_direct_input_grad: dx smaller than [{}, {}, {}, {}]", g.n, g.c, g.h, g.w);
    let t = input_grad_geometry(g, co);
    let p = Params::with_rows(&t, g.c);
    let packed = gpu.empty(&[MAX_WEIGHTS]);
    gpu.launch(&Kernel { shader: &CONV_DIRECT, entry: "pack_weights" }, &[("FLIP", 1.0)], &p, &[w, w, &packed], grid_1d(g.c.div_ceil(OUT) * OUT * t.patch()));
    // One channel of dx: its own entry, not a part of 16 with 15 unused.
    let entry = if g.c == 1 { "conv_direct_single" } else { "conv_direct_quads" };
    quads(gpu, entry, input, &t, g.c, dy, &gpu.zeros(&[g.c]), dx, &packed, false);
}

/// y [n, co, oh, ow] = w [co, c*kh*kw] * x + bias, ReLU'd when `relu`, computed without an
/// im2col matrix (see conv_direct.wgsl). Only for layers `takes_direct` accepts.
pub fn conv_direct(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, w: &Tensor, bias: &Tensor, y: &Tensor, co: usize, relu: bool) {
    conv_direct_with(gpu, QuadsInput::for_gpu(gpu), g, x, w, bias, y, co, relu)
}

/// `conv_direct` with x read as `input` says (at stride 1 and kernels up to 5 wide).
#[allow(clippy::too_many_arguments)]
pub fn conv_direct_with(gpu: &Gpu, input: QuadsInput, g: &Conv2dGeometry, x: &Tensor, w: &Tensor, bias: &Tensor, y: &Tensor, co: usize, relu: bool) {
    assert!(takes_direct(g, co), "conv_direct: {co} x {} weights do not fit its uniform array", g.patch());
    assert!(w.numel() >= co * g.patch() && bias.numel() >= co, "conv_direct: weights or bias smaller than [{co}, {}]", g.patch());
    assert!(y.numel() >= g.n * co * g.oh() * g.ow(), "conv_direct: y smaller than [{}, {co}, {}, {}]", g.n, g.oh(), g.ow());
    // (conv2d.wgsl's parameters: `rows` is co.)
    let p = Params::with_rows(g, co);
    let packed = gpu.empty(&[MAX_WEIGHTS]);
    // (pack_weights reads no bias: the weights stand in for its binding.)
    gpu.launch(&Kernel { shader: &CONV_DIRECT, entry: "pack_weights" }, &[], &p, &[w, w, &packed], grid_1d(co.div_ceil(OUT) * OUT * g.patch()));
    let ov = [("KH", g.kh as f64), ("KW", g.kw as f64), ("RELU", relu as u32 as f64), ("STRIDE", g.stride as f64)];
    if takes_quads(g) {
        // Four positions per invocation share each kernel row's inputs.
        quads(gpu, "conv_direct_quads", input, g, co, x, bias, y, &packed, relu);
    } else {
        let k = Kernel { shader: &CONV_DIRECT, entry: "conv_direct" };
        gpu.launch(&k, &ov, &p, &[x, bias, y, &packed], grid_1d(g.positions()));
    }
}

/// Lanes per workgroup of `weight_grad` and the quads (runs of four positions) each lane
/// should take at least: fewer lanes than that leave cores idle, more make more partial sums.
const GRAD_LANES: usize = 64;
/// Lanes per workgroup of `weight_grad` over a window of a few images (`GRAD_WG`).
const WINDOW_LANES: usize = 8;
const QUADS_PER_LANE: usize = 32;
/// Most quads one lane may take: llvmpipe stops an invocation's loop at 65,535 iterations.
const MAX_QUADS_PER_LANE: usize = 60_000;

/// Whether `conv_direct_weight_grad` takes a layer of `co` output channels over `g` on this
/// adapter (`takes_direct_weight_grad_with` its `QuadsInput`).
pub fn takes_direct_weight_grad(gpu: &Gpu, g: &Conv2dGeometry, co: usize) -> bool {
    takes_direct_weight_grad_with(QuadsInput::for_gpu(gpu), g, co)
}

/// Whether the weight gradient runs directly reading x as `input` says: stride 1, kernels up
/// to 5x5 (the taps one lane sums at once), and at most `SMALL_WEIGHTS` weights, or where x's
/// images fit windows, `MAX_WEIGHTS` (cnn's conv2: `train_step/cnn/b128` 799 against 668 ms
/// on a loaded llvmpipe, against im2col and the product).
pub fn takes_direct_weight_grad_with(input: QuadsInput, g: &Conv2dGeometry, co: usize) -> bool {
    let max = if window_fits(input, g.c * g.h * g.w) { MAX_WEIGHTS } else { SMALL_WEIGHTS };
    g.stride == 1 && g.kh <= 5 && g.kw <= 5 && fits(g, co, OUT, max)
}

/// The gradients of a direct convolution for dy [n, co, oh, ow]: dw [co, c*kh*kw] and dbias
/// [co], both overwritten, read straight from x and dy (see conv_direct.wgsl). Only for
/// layers `takes_direct_weight_grad` accepts.
pub fn conv_direct_weight_grad(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, dy: &Tensor, dw: &Tensor, dbias: &Tensor, co: usize) {
    conv_direct_weight_grad_with(gpu, QuadsInput::for_gpu(gpu), g, x, dy, dw, dbias, co)
}

/// `conv_direct_weight_grad` with x read as `input` says.
#[allow(clippy::too_many_arguments)]
pub fn conv_direct_weight_grad_with(gpu: &Gpu, input: QuadsInput, g: &Conv2dGeometry, x: &Tensor, dy: &Tensor, dw: &Tensor, dbias: &Tensor, co: usize) {
    assert!(takes_direct_weight_grad_with(input, g, co), "conv_direct_weight_grad: stride {}, a {}x{} kernel or {co} x {} weights it does not take", g.stride, g.kh, g.kw, g.patch());
    assert!(dw.numel() >= co * g.patch() && dbias.numel() >= co, "conv_direct_weight_grad: gradients smaller than [{co}, {}]", g.patch());
    assert!(dy.numel() >= g.n * co * g.oh() * g.ow(), "conv_direct_weight_grad: dy smaller than [{}, {co}, {}, {}]", g.n, g.oh(), g.ow());
    // Workgroups of `wg` lanes for `n` images: enough for QUADS_PER_LANE quads each, within
    // llvmpipe's loop limit.
    let groups = |n: usize, wg: usize| {
        let quads = n * g.oh() * g.ow().div_ceil(4);
        quads.div_ceil(wg * QUADS_PER_LANE).max(quads.div_ceil(wg * MAX_QUADS_PER_LANE))
    };
    let per_image = g.c * g.h * g.w;
    let windowed = window_fits(input, per_image);
    let wg = if windowed { WINDOW_LANES } else { GRAD_LANES };
    // One launch over the batch, or one per window of images.
    let launches: Vec<(Option<ImageWindow>, usize)> = match windowed {
        true => image_windows(gpu, x, per_image, g.n).into_iter().map(|w| { let n = w.images; (Some(w), groups(n, wg)) }).collect(),
        false => vec![(None, groups(g.n, wg))],
    };
    let lanes: usize = launches.iter().map(|(_, groups)| groups * wg).sum();
    let parts = co.div_ceil(4) * g.c;
    // 26 slots (25 taps and the bias) of four channels per part and lane.
    let slots = parts * 26 * 4;
    let partial = gpu.empty(&[slots, lanes]);
    let ov = [
        ("KH", g.kh as f64),
        ("KW", g.kw as f64),
        ("DY_VEC4", g.ow().is_multiple_of(4) as u32 as f64),
        ("WINDOW", windowed as u32 as f64),
        ("GRAD_WG", wg as f64),
    ];
    // Bindings 1 x, 3 partial sums or dw, 5 dy or the partial sums, 6 dbias, 7 dy as vec4,
    // 8 x's window (2 and 4 unused).
    let k = Kernel { shader: &CONV_DIRECT, entry: "weight_grad" };
    let mut lane0 = 0;
    for (window, groups) in &launches {
        let p = match window {
            Some(w) => Params::with_rows(&Conv2dGeometry { n: w.images, ..*g }, co).with_window(w.first, w.shift),
            None => Params::with_rows(g, co),
        };
        let p = p.with_lanes(lanes).with_lane0(lane0);
        // (Without a window, a 64 KiB buffer stands in, not read.)
        let view = window.as_ref().map_or_else(|| gpu.empty(&[WINDOW_BYTES / 4]), |w| w.view.clone());
        gpu.launch(&k, &ov, &p, &[x, x, &partial, x, dy, dy, dy, &view], [*groups as u32, parts as u32, 1]);
        lane0 += groups * wg;
    }
    let k = Kernel { shader: &CONV_DIRECT, entry: "reduce_weight_grad" };
    gpu.launch(&k, &[], &Params::with_rows(g, co).with_lanes(lanes), &[x, x, dw, x, &partial, dbias], grid_1d_of(slots, GRAD_LANES as u32));
}

/// Where the direct convolutions (`conv_direct_quads`, `weight_grad`) read their activations from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuadsInput {
    /// The storage buffer, one launch (GPUs: neighbouring lanes read neighbouring addresses).
    Storage,
    /// 64 KiB windows of it bound as uniforms, a launch per window (CPU adapters, which gather
    /// from a uniform buffer but read a storage buffer lane by lane; see WINDOW in the shader).
    Window,
}

impl QuadsInput {
    /// Window on CPU adapters, Storage elsewhere; `AER_CONV_INPUT=storage|window` overrides.
    pub fn for_gpu(gpu: &Gpu) -> QuadsInput {
        let named = [("storage", QuadsInput::Storage), ("window", QuadsInput::Window)];
        super::tune::variant(gpu, "AER_CONV_INPUT", &named, QuadsInput::Window, QuadsInput::Storage)
    }
}

/// Lanes per workgroup of the quads through windows (`QUADS_WG`): a window of one image of
/// CIFAR's 16 x 32 x 32 is 256 quads, which at 256 lanes would be one workgroup, one core.
const WINDOW_QUADS_WG: u32 = 32;

/// Bytes of a window (`x_win` in the shader, WebGPU's default limit on a uniform binding).
const WINDOW_BYTES: usize = 65536;

/// y [n, co, oh, ow] = the packed weights * x [n, c, h, w] (+ bias, ReLU'd when `relu`) by
/// `entry` (`conv_direct_quads`, or for one output channel `conv_direct_single`), stride 1,
/// through windows where `QuadsInput` says so and an image fits one.
#[allow(clippy::too_many_arguments)]
fn quads(gpu: &Gpu, entry: &'static str, input: QuadsInput, g: &Conv2dGeometry, co: usize, x: &Tensor, bias: &Tensor, y: &Tensor, packed: &Tensor, relu: bool) {
    let k = Kernel { shader: &CONV_DIRECT, entry };
    let per_image = g.c * g.h * g.w;
    let window = window_fits(input, per_image);
    let wg = if window { WINDOW_QUADS_WG } else { 256 };
    let ov = [("KH", g.kh as f64), ("KW", g.kw as f64), ("RELU", relu as u32 as f64), ("WINDOW", window as u32 as f64), ("QUADS_WG", wg as f64)];
    let grid = |n: usize| grid_1d_of(n * g.oh() * g.ow().div_ceil(4), wg);
    if !window {
        // (The packed weights, 64 KiB, stand in for the window, which is not read.)
        gpu.launch(&k, &ov, &Params::with_rows(g, co), &[x, bias, y, packed, x, x, x, packed], grid(g.n));
        return;
    }
    for w in image_windows(gpu, x, per_image, g.n) {
        let p = Params::with_rows(&Conv2dGeometry { n: w.images, ..*g }, co).with_window(w.first, w.shift);
        gpu.launch(&k, &ov, &p, &[x, bias, y, packed, x, x, x, &w.view], grid(w.images));
    }
}

/// Whether to read images of `per_image` elements through windows: where `input` says so and
/// one fits a window (a view of the buffer where the image starts at a multiple of VIEW_ALIGN,
/// else a copy: CIFAR's 16 channels of 32 x 32 fill one exactly).
fn window_fits(input: QuadsInput, per_image: usize) -> bool {
    input == QuadsInput::Window && per_image * 4 <= WINDOW_BYTES
}

/// Images `first .. first + images` of a batch, in a 64 KiB view of its buffer from element `shift`.
struct ImageWindow {
    first: usize,
    images: usize,
    view: Tensor,
    shift: usize,
}

/// The windows that cover the `n` images of `per_image` elements each in `x`, as many images
/// per window as fit: views of x's buffer from the multiple of `VIEW_ALIGN` at or below the
/// first image, or a copy where such a view would overrun the buffer or not hold the image.
fn image_windows(gpu: &Gpu, x: &Tensor, per_image: usize, n: usize) -> Vec<ImageWindow> {
    let align = crate::gpu::VIEW_ALIGN as usize;
    let buffer = x.whole_buffer();
    let bytes = buffer.numel() * 4;
    let image_bytes = per_image * 4;
    let mut windows = Vec::new();
    let mut first = 0;
    while first < n {
        let at = x.offset() as usize + first * image_bytes;
        let start = at / align * align;
        // Images a view from `start` holds (none where the first starts too far past it).
        let in_view = ((start + WINDOW_BYTES).saturating_sub(at) / image_bytes).min(n - first);
        let window = if start + WINDOW_BYTES <= bytes && in_view > 0 {
            ImageWindow { first, images: in_view, view: buffer.view(start / 4, &[WINDOW_BYTES / 4]), shift: (at - start) / 4 }
        } else {
            let images = (WINDOW_BYTES / image_bytes).min(n - first);
            let copy = gpu.zeros(&[WINDOW_BYTES / 4]);
            gpu.copy_range(&buffer, at / 4, &copy, 0, images * per_image);
            ImageWindow { first, images, view: copy, shift: 0 }
        };
        assert!(window.images > 0, "image_windows: an image of {per_image} elements does not fit a window");
        first += window.images;
        windows.push(window);
    }
    windows
}
