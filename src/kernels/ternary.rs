use super::shaders::TERNARY;
use super::layout::ActivationLayout;
use crate::gpu::{grid_1d_of, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Params {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub words: u32,
    pub groups_y: u32,
    pub _pad: [u32; 3],
}

/// A ternary weight matrix [n, k] on the GPU in the packed layout of `shaders/ternary.wgsl`
/// (2 bits per weight, 16 per u32, row by row) with one positive and one negative scale per
/// row.
#[derive(Clone)]
pub struct PackedTernary {
    /// u32 [n, words_per_row(k)].
    pub words: Tensor,
    /// f32 [n] each.
    pub scale_pos: Tensor,
    pub scale_neg: Tensor,
    pub n: usize,
    pub k: usize,
    /// Some row's positive and negative scales differ (TTQ); false lets the kernels skip a sum.
    pub asymmetric: bool,
}

impl PackedTernary {
    /// |W| in the same codes: with the negative scales negated, a -1 code contributes
    /// -(-scale_neg) x = |w| x in both products (the kernels' signed and unsigned sums swap
    /// roles, so the matrix counts as asymmetric).
    pub fn abs(&self, gpu: &Gpu) -> PackedTernary {
        let neg = gpu.empty(self.scale_neg.shape());
        super::negate_values(gpu, &self.scale_neg, &neg);
        PackedTernary { scale_neg: neg, asymmetric: true, ..self.clone() }
    }

    /// Upload packed words [n, words_per_row(k)] and per-row scales; `asymmetric` is set
    /// where some row's scales differ.
    pub fn upload(gpu: &Gpu, words: &[u32], scale_pos: &[f32], scale_neg: &[f32], n: usize, k: usize) -> PackedTernary {
        assert_eq!(words.len(), n * words_per_row(k), "packed ternary [{n}, {k}]: wrong word count");
        PackedTernary {
            words: gpu.upload_u32(words, &[n, words_per_row(k)]),
            scale_pos: gpu.upload(scale_pos, &[n]),
            scale_neg: gpu.upload(scale_neg, &[n]),
            n,
            k,
            asymmetric: scale_pos != scale_neg,
        }
    }
}

/// u32 words that hold one row of k ternary weights.
pub fn words_per_row(k: usize) -> usize {
    k.div_ceil(16)
}


const WG: usize = 64;
const MAX_GROUPS: usize = 65_535;
/// Rows of x per invocation of the forward kernels once there are this many rows.
const BATCHED_ROWS: usize = 4;

/// Linear layers with fewer outputs than this leave most lanes of `ternary_matmul_wide` (16
/// lanes of 16 columns each per workgroup) idle, so a packed model runs them dense on weights
/// unpacked from their words where that variant is chosen: on llvmpipe, cnn's fc2 (10 x 256)
/// at batch 256 took 23.6 ms packed against 2.3 ms dense.
pub const WIDE_MIN_OUTPUTS: usize = 128;

/// Largest batch at which a packed model's linear layers run `ternary_matmul_wide` on CPU
/// adapters; larger batches unpack the weights (one pass over them) and run the dense product,
/// which reuses each weight over more rows. On llvmpipe at 4096 x 4096 (BENCHMARKS.md) the
/// packed product takes 4.8 ms against 10.8 dense at batch 1 but 207 against 153 at 64 and
/// 434 against 281 at 128; cnn's fc1 (256 x 1568) at batch 256 took 182 ms packed against
/// 141 dense.
pub const PACKED_LINEAR_MAX_BATCH: usize = 16;

/// Which forward kernel runs for activations stored [M, K].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TernaryVariant {
    /// `ternary_matmul`: 4 columns per invocation, for GPUs.
    Narrow,
    /// `ternary_matmul_wide`: 16 columns per invocation, for CPU adapters, which load lane by
    /// lane (on lavapipe at 4096 x 4096: 5.9 -> 2.2-3.8 ms at batch 1, 176 -> 136 ms at 64).
    Wide,
}

impl TernaryVariant {
    /// Wide on CPU adapters, Narrow elsewhere; `AER_TERNARY=narrow|wide` overrides.
    pub fn for_gpu(gpu: &Gpu) -> TernaryVariant {
        let named = [("narrow", TernaryVariant::Narrow), ("wide", TernaryVariant::Wide)];
        super::tune::variant(gpu, "AER_TERNARY", &named, TernaryVariant::Wide, TernaryVariant::Narrow)
    }

    /// Output columns per invocation and workgroup size.
    pub(super) fn shape(self) -> (usize, usize) {
        match self {
            TernaryVariant::Narrow => (4, WG),
            TernaryVariant::Wide => (16, 16),
        }
    }
}

/// How a packed model runs its convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TernaryConv {
    /// On the packed words (`ternary_matmul_cols` over im2col columns), for GPUs.
    Packed,
    /// On dense weights unpacked from the words once (`ternary_unpack`), through the dense
    /// convolution kernels (the direct convolution where it applies, else im2col and the tuned
    /// product), for CPU adapters: there the packed kernel's lanes each reload every
    /// activation for each group of four output channels and lose to the dense kernels by far
    /// (on llvmpipe, cnn at batch 256: the two packed convolutions 3.9 s against 0.67 s of the
    /// dense convolutions, all under the same load).
    Dense,
}

impl TernaryConv {
    /// Dense on CPU adapters, Packed elsewhere; `AER_TERNARY_CONV=packed|dense` overrides.
    pub fn for_gpu(gpu: &Gpu) -> TernaryConv {
        let named = [("packed", TernaryConv::Packed), ("dense", TernaryConv::Dense)];
        super::tune::variant(gpu, "AER_TERNARY_CONV", &named, TernaryConv::Dense, TernaryConv::Packed)
    }
}

/// Spread `blocks` workgroups over y and z (WebGPU allows 65,535 per dimension).
pub(super) fn grid_yz(blocks: usize) -> (u32, u32) {
    let y = blocks.clamp(1, MAX_GROUPS);
    (y as u32, blocks.div_ceil(y).max(1) as u32)
}

fn check_words(w: &PackedTernary) {
    assert!(
        w.words.numel() >= w.n * words_per_row(w.k) && w.scale_pos.numel() >= w.n && w.scale_neg.numel() >= w.n,
        "ternary weights [{}, {}]: packed words or scales too small",
        w.n,
        w.k
    );
}

/// y[m, n] = sum_k x[m, k] * W[n, k] over m rows of x, with W ternary (layouts as `layout`),
/// through the adapter's variant.
pub fn ternary_matmul(gpu: &Gpu, x: &Tensor, w: &PackedTernary, y: &Tensor, m: usize, layout: ActivationLayout) {
    ternary_matmul_with(gpu, TernaryVariant::for_gpu(gpu), x, w, y, m, layout)
}

/// `ternary_matmul` through a given variant (x stored [K, M] has a kernel of its own).
pub fn ternary_matmul_with(gpu: &Gpu, variant: TernaryVariant, x: &Tensor, w: &PackedTernary, y: &Tensor, m: usize, layout: ActivationLayout) {
    if layout.trans_x {
        launch_cols(gpu, true, x, w, y, m, layout);
        return;
    }
    let entry = match variant {
        TernaryVariant::Narrow => "ternary_matmul",
        TernaryVariant::Wide => "ternary_matmul_wide",
    };
    launch_forward(gpu, &Kernel { shader: &TERNARY, entry }, variant.shape(), x, w, y, m, layout);
}

/// The kernels with lanes along the rows m of activations stored [K, M] (im2col columns): one
/// invocation per row, the grid spilling into y. `forward`: y = x W^T (`ternary_matmul_cols`),
/// else the input gradient, x being dy and y dx (`ternary_matmul_t_cols`).
fn launch_cols(gpu: &Gpu, forward: bool, x: &Tensor, w: &PackedTernary, y: &Tensor, m: usize, layout: ActivationLayout) {
    check_words(w);
    let (entry, ins, outs) = if forward { ("ternary_matmul_cols", w.k, w.n) } else { ("ternary_matmul_t_cols", w.n, w.k) };
    assert!(x.numel() >= m * ins && y.numel() >= m * outs, "{entry} {m}x{}x{}: operand too small", w.n, w.k);
    if m == 0 || outs == 0 {
        return;
    }
    if ins == 0 {
        gpu.fill_zero(y);
        return;
    }
    let groups = m.div_ceil(WG);
    let gx = groups.min(MAX_GROUPS);
    let p = Params { m: m as u32, n: w.n as u32, k: w.k as u32, words: words_per_row(w.k) as u32, groups_y: 0, _pad: [0; 3] };
    // (The input gradient handles both scales in one sum: ASYMMETRIC is the forward's switch.)
    let asymmetric = forward && w.asymmetric;
    let overrides = [("TRANS_X", 1.0), ("TRANS_Y", layout.trans_y as u32 as f64), ("ASYMMETRIC", asymmetric as u32 as f64), ("WG", WG as f64)];
    gpu.launch(&Kernel { shader: &TERNARY, entry }, &overrides, &p, &[x, &w.words, &w.scale_pos, &w.scale_neg, y, x], [gx as u32, groups.div_ceil(gx) as u32, 1]);
}

/// The forward product's launch, shared by the f32 and the f16 kernels (same bindings and
/// overrides), with `(cols, wg)` output columns per invocation and lanes per workgroup.
pub(super) fn launch_forward(gpu: &Gpu, kernel: &Kernel, (cols, wg): (usize, usize), x: &Tensor, w: &PackedTernary, y: &Tensor, m: usize, layout: ActivationLayout) {
    check_words(w);
    assert!(x.numel() >= m * w.k && y.numel() >= m * w.n, "{} {m}x{}x{}: operand too small", kernel.entry, w.n, w.k);
    if m == 0 || w.n == 0 {
        return;
    }
    if w.k == 0 {
        gpu.fill_zero(y);
        return;
    }
    let rows = if m >= BATCHED_ROWS { BATCHED_ROWS } else { 1 };
    let (gy, gz) = grid_yz(m.div_ceil(rows));
    let p = Params { m: m as u32, n: w.n as u32, k: w.k as u32, words: words_per_row(w.k) as u32, groups_y: gy, _pad: [0; 3] };
    let overrides = [
        ("TRANS_X", layout.trans_x as u32 as f64),
        ("TRANS_Y", layout.trans_y as u32 as f64),
        ("ASYMMETRIC", w.asymmetric as u32 as f64),
        ("ROWS", rows as f64),
        ("X_VEC4", (!layout.trans_x && w.k.is_multiple_of(4)) as u32 as f64),
        ("WG", wg as f64),
    ];
    gpu.launch(kernel, &overrides, &p, &[x, &w.words, &w.scale_pos, &w.scale_neg, y, x], [w.n.div_ceil(wg * cols) as u32, gy, gz]);
}

/// dx[m, k] = sum_n dy[m, n] * W[n, k]: the input gradient of `ternary_matmul` (dy laid out as
/// its y, dx as its x).
pub fn ternary_matmul_t(gpu: &Gpu, dy: &Tensor, w: &PackedTernary, dx: &Tensor, m: usize, layout: ActivationLayout) {
    check_words(w);
    assert!(dy.numel() >= m * w.n && dx.numel() >= m * w.k, "ternary_matmul_t {m}x{}x{}: operand too small", w.n, w.k);
    if m == 0 || w.k == 0 {
        return;
    }
    if layout.trans_x {
        launch_cols(gpu, false, dy, w, dx, m, layout);
        return;
    }
    let words = words_per_row(w.k);
    let (gy, gz) = grid_yz(m);
    let p = Params { m: m as u32, n: w.n as u32, k: w.k as u32, words: words as u32, groups_y: gy, _pad: [0; 3] };
    let overrides = [("TRANS_X", layout.trans_x as u32 as f64), ("TRANS_Y", layout.trans_y as u32 as f64), ("WG", WG as f64)];
    let kernel = Kernel { shader: &TERNARY, entry: "ternary_matmul_t" };
    gpu.launch(&kernel, &overrides, &p, &[dy, &w.words, &w.scale_pos, &w.scale_neg, dx], [words.div_ceil(WG) as u32, gy, gz]);
}

/// The dense weights [n, k] that packed ternary weights stand for (codes times their row's
/// scales), written into `out`: for layers that run dense where the packed kernels lose.
pub fn ternary_unpack(gpu: &Gpu, w: &PackedTernary, out: &Tensor) {
    check_words(w);
    let total = w.n * w.k;
    assert!(out.numel() >= total, "ternary_unpack [{}, {}]: output too small", w.n, w.k);
    if total == 0 {
        return;
    }
    const UNPACK_WG: u32 = 256;
    let p = Params { m: 0, n: w.n as u32, k: w.k as u32, words: words_per_row(w.k) as u32, groups_y: 0, _pad: [0; 3] };
    let kernel = Kernel { shader: &TERNARY, entry: "ternary_unpack" };
    // One invocation per packed word.
    gpu.launch(&kernel, &[("WG", UNPACK_WG as f64)], &p, &[&w.words, &w.words, &w.scale_pos, &w.scale_neg, out], grid_1d_of(w.n * words_per_row(w.k), UNPACK_WG));
}
