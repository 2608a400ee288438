use super::shaders::MATMUL;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};
use serde::{Deserialize, Serialize};

/// Which operands are stored transposed. `NT` is a linear layer's forward (x W^T), `NN` its
/// input gradient (dy W), `TN` its weight gradient (dy^T x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatmulForm {
    NN,
    NT,
    TN,
    TT,
}

impl MatmulForm {
    pub fn trans(self) -> (bool, bool) {
        match self {
            MatmulForm::NN => (false, false),
            MatmulForm::NT => (false, true),
            MatmulForm::TN => (true, false),
            MatmulForm::TT => (true, true),
        }
    }

    /// The form with these operands transposed (the inverse of `trans`).
    pub fn from_trans(trans_a: bool, trans_b: bool) -> MatmulForm {
        match (trans_a, trans_b) {
            (false, false) => MatmulForm::NN,
            (false, true) => MatmulForm::NT,
            (true, false) => MatmulForm::TN,
            (true, true) => MatmulForm::TT,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    k_chunk: u32,
    splits: u32,
    _pad: [u32; 3],
}

/// Tiled through workgroup memory: for GPUs.
const TILED: Kernel = Kernel { shader: &MATMUL, entry: "main" };
const TILE: usize = 64;
/// Lanes a CPU adapter runs together (AVX2: 8 x f32).
const SIMD_WIDTH: usize = 8;
const REDUCE: Kernel = Kernel { shader: &MATMUL, entry: "reduce_splits" };
/// Lanes along k, 8x8 of C each: for A * B^T with a small output (see the shader).
const DOT: Kernel = Kernel { shader: &MATMUL, entry: "main_dot" };
const DOT_BLOCK: usize = 8;
const DOT_LANES: usize = 64;
const DOT_MIN_K: usize = 4096;
const DOT_MAX_OUTPUT: usize = 1024;
/// Steps of k one invocation may loop over (applied to both kernels; the blocked one loops
/// once per step, so this keeps it well under llvmpipe's cap).
const MAX_K_PER_INVOCATION: usize = 32_768;
/// Workgroups per grid dimension in WebGPU's default limits: lane grids that would need more
/// are skipped.
const MAX_GROUPS: usize = 65_535;
/// Floats in WebGPU's default largest storage binding (128 MiB): split-K's partial products.
const MAX_PARTIAL_FLOATS: usize = 128 << 20 >> 2;
/// Split-K never makes a slice of k shorter than this.
const MIN_K_CHUNK: usize = 256;

/// A register-blocked CPU kernel: the block of C one invocation keeps, and the loads it issues
/// per step of k (each component of op(A)'s rows and op(B)'s columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuBlock {
    entry: &'static str,
    rows: usize,
    cols: usize,
}

impl CpuBlock {
    fn loads(&self) -> usize {
        self.rows + self.cols
    }
}

/// `main_blocked`: 32x16 of C per invocation.
const BLOCKED: CpuBlock = CpuBlock { entry: "main_blocked", rows: 32, cols: 16 };
/// `main_wide`: 32x32 of C per invocation.
const WIDE: CpuBlock = CpuBlock { entry: "main_wide", rows: 32, cols: 32 };

/// Which matmul kernel an adapter runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatmulVariant {
    /// `main`, for GPUs.
    Tiled,
    /// The CPU kernel (`main_blocked` or `main_wide`) and lane grid that issue the fewest loads
    /// for the shape (`cpu_layout`).
    Cpu,
    /// `main_blocked` only (tests, comparisons).
    Blocked,
    /// `main_wide` only (tests, comparisons).
    Wide,
}

impl MatmulVariant {
    /// Cpu on CPU adapters, Tiled elsewhere; `AER_MATMUL=tiled|cpu|blocked|wide` overrides.
    pub fn for_gpu(gpu: &Gpu) -> MatmulVariant {
        let named = [("tiled", MatmulVariant::Tiled), ("cpu", MatmulVariant::Cpu), ("blocked", MatmulVariant::Blocked), ("wide", MatmulVariant::Wide)];
        super::tune::variant(gpu, "AER_MATMUL", &named, MatmulVariant::Cpu, MatmulVariant::Tiled)
    }

    /// The CPU kernels this variant may choose from.
    fn cpu_blocks(self) -> &'static [CpuBlock] {
        match self {
            MatmulVariant::Tiled => &[],
            MatmulVariant::Cpu => &[BLOCKED, WIDE],
            MatmulVariant::Blocked => &[BLOCKED],
            MatmulVariant::Wide => &[WIDE],
        }
    }

    /// Workgroups to aim for: enough for every core of a CPU, or every SM of a GPU.
    fn target_groups(self) -> usize {
        match self {
            MatmulVariant::Tiled => 256,
            _ => 8,
        }
    }
}

/// A launch of a CPU kernel: which block, the workgroups along n and m, and the lanes of
/// one workgroup along n, m and k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuLayout {
    pub block: CpuBlock,
    pub grid: [usize; 2],
    pub lanes: [usize; 3],
}

impl CpuLayout {
    /// Loads the launch issues, in units of one SIMD group's load: every lane pays its block's
    /// loads for each step of its share of k, inside the matrix or not, and a SIMD group runs
    /// whole (see the shader's header).
    pub fn cost(&self, k: usize) -> usize {
        let [lx, ly, lz] = self.lanes;
        self.grid[0] * self.grid[1] * (lx * ly * lz).div_ceil(SIMD_WIDTH) * self.block.loads() * k.div_ceil(lz).max(1)
    }

    /// Whether the grid is within MAX_GROUPS workgroups per dimension.
    pub fn fits(&self) -> bool {
        self.grid.iter().all(|&g| g <= MAX_GROUPS)
    }

    /// The kernel's entry point ("main_blocked", "main_wide").
    pub fn entry(&self) -> &'static str {
        self.block.entry
    }
}

/// The cheapest launch (`CpuLayout::cost`) of the blocks `variant` allows for an m x n output
/// over k: lane grids of 1 to 8 lanes along n and m (at most 64 in all), and lanes along k
/// where that leaves a SIMD group short (each covering at least MIN_K_CHUNK steps), within
/// MAX_GROUPS workgroups per dimension. Among equals, the first found: the larger workgroup,
/// the smaller block.
pub fn cpu_layout(variant: MatmulVariant, m: usize, n: usize, k: usize) -> CpuLayout {
    let mut best: Option<CpuLayout> = None;
    for &block in variant.cpu_blocks() {
        for lx in [8, 4, 2, 1] {
            for ly in [8, 4, 2, 1] {
                let mut lz = (SIMD_WIDTH / (lx * ly)).max(1);
                while lz > 1 && k < lz * MIN_K_CHUNK {
                    lz /= 2;
                }
                let grid = [n.div_ceil(block.cols * lx), m.div_ceil(block.rows * ly)];
                let layout = CpuLayout { block, grid, lanes: [lx, ly, lz] };
                if best.is_none_or(|b| (layout.fits(), b.cost(k)) > (b.fits(), layout.cost(k))) {
                    best = Some(layout);
                }
            }
        }
    }
    best.expect("a CPU variant has blocks")
}

/// One way to launch the product: the kernel (`Tiled`, `Blocked` or `Wide`), the lanes of one
/// workgroup along n, m and k, and the workgroups along k (split-K; 0: as many as keep
/// `target_groups` workgroups busy). What `aer tune` measures and caches per shape class
/// (`crate::kernels::tune::MatmulTable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatmulConfig {
    pub kernel: MatmulVariant,
    pub lanes: [usize; 3],
    pub splits: usize,
}

impl MatmulConfig {
    /// What `variant` launches for this shape without a tune table: `cpu_layout` on CPU kernels.
    pub fn default_for(variant: MatmulVariant, m: usize, n: usize, k: usize) -> MatmulConfig {
        match variant {
            MatmulVariant::Tiled => MatmulConfig { kernel: MatmulVariant::Tiled, lanes: [16, 16, 1], splits: 0 },
            _ => {
                let l = cpu_layout(variant, m, n, k);
                MatmulConfig { kernel: if l.block == WIDE { MatmulVariant::Wide } else { MatmulVariant::Blocked }, lanes: l.lanes, splits: 0 }
            }
        }
    }

    /// Workgroups along n and m for an m x n output.
    fn grid(&self, m: usize, n: usize) -> [usize; 2] {
        match self.kernel {
            MatmulVariant::Tiled => [n.div_ceil(TILE), m.div_ceil(TILE)],
            MatmulVariant::Wide => [n.div_ceil(WIDE.cols * self.lanes[0]), m.div_ceil(WIDE.rows * self.lanes[1])],
            _ => [n.div_ceil(BLOCKED.cols * self.lanes[0]), m.div_ceil(BLOCKED.rows * self.lanes[1])],
        }
    }

    /// Whether this launch is valid for an m x n output: a kernel that is one, the tiled
    /// kernel's fixed 16x16 lanes, at most 256 lanes, and the grid within WebGPU's limits.
    /// A cached table is a file: an entry that is not is ignored, never launched.
    pub fn valid(&self, m: usize, n: usize) -> bool {
        let lanes_ok = match self.kernel {
            MatmulVariant::Tiled => self.lanes == [16, 16, 1],
            MatmulVariant::Blocked | MatmulVariant::Wide => self.lanes.iter().all(|&l| l >= 1) && self.lanes.iter().product::<usize>() <= 256,
            MatmulVariant::Cpu => false,
        };
        lanes_ok && self.splits <= 65_535 && self.grid(m, n).iter().all(|&g| g <= MAX_GROUPS)
    }

    /// The CPU layouts that `aer tune` measures for an m x n output over k on a CPU adapter
    /// (the default first): the `CpuLayout::cost` estimate ranks the 32 layouts of both
    /// blocks, the cheapest six within 3x of the best are tried with split-K left automatic,
    /// and the cheapest with 1, 2, 4 and 8 workgroups along k. On other adapters the tiled
    /// kernel with those splits.
    pub fn candidates(cpu: bool, m: usize, n: usize, k: usize) -> Vec<MatmulConfig> {
        let default = MatmulConfig::default_for(if cpu { MatmulVariant::Cpu } else { MatmulVariant::Tiled }, m, n, k);
        let mut out = vec![default];
        let mut push = |c: MatmulConfig| {
            if c.valid(m, n) && !out.contains(&c) {
                out.push(c);
            }
        };
        if !cpu {
            for s in [1, 2, 4, 8] {
                push(MatmulConfig { splits: s, ..default });
            }
            return out;
        }
        let mut layouts = Vec::new();
        for (kernel, block) in [(MatmulVariant::Blocked, BLOCKED), (MatmulVariant::Wide, WIDE)] {
            for lx in [8, 4, 2, 1] {
                for ly in [8, 4, 2, 1] {
                    let mut lz = (SIMD_WIDTH / (lx * ly)).max(1);
                    while lz > 1 && k < lz * MIN_K_CHUNK {
                        lz /= 2;
                    }
                    let layout = CpuLayout { block, grid: [n.div_ceil(block.cols * lx), m.div_ceil(block.rows * ly)], lanes: [lx, ly, lz] };
                    if layout.fits() {
                        layouts.push((layout.cost(k), MatmulConfig { kernel, lanes: [lx, ly, lz], splits: 0 }));
                    }
                }
            }
        }
        layouts.sort_by_key(|(cost, _)| *cost);
        let best = layouts.first().map(|(cost, _)| *cost).unwrap_or(0);
        for &(_, c) in layouts.iter().filter(|(cost, _)| *cost <= 3 * best).take(6) {
            push(c);
        }
        if let Some(&(_, c)) = layouts.first() {
            for s in [1, 2, 4, 8] {
                if s == 1 || k >= s * MIN_K_CHUNK {
                    push(MatmulConfig { splits: s, ..c });
                }
            }
        }
        out
    }
}

/// c[m, n] (+)= op(a) * op(b) with op(a) [m, k] and op(b) [k, n]; see `shaders/matmul.wgsl`.
/// The launch is the one `aer tune` measured fastest for the shape's class on this adapter
/// where its table has one (`crate::kernels::tune::MatmulTable`), else today's heuristic;
/// `AER_MATMUL` forcing a variant skips the table.
#[allow(clippy::too_many_arguments)]
pub fn matmul(gpu: &Gpu, form: MatmulForm, a: &Tensor, b: &Tensor, c: &Tensor, m: usize, n: usize, k: usize, accumulate: bool) {
    record(form, m, n, k, accumulate);
    let variant = MatmulVariant::for_gpu(gpu);
    let tuned = if crate::gpu::option_env_var("AER_MATMUL").is_none() && !(variant != MatmulVariant::Tiled && takes_dot(form, m, n, k)) {
        super::tune::MatmulTable::for_gpu(gpu).and_then(|t| t.choice(form, m, n, k, accumulate)).filter(|c| c.valid(m, n))
    } else {
        None
    };
    match tuned {
        Some(config) => matmul_config(gpu, config, form, a, b, c, m, n, k, accumulate),
        None => matmul_with(gpu, variant, form, a, b, c, m, n, k, accumulate),
    }
}

/// `matmul` with an explicit kernel variant (tests run every one on every adapter).
#[allow(clippy::too_many_arguments)]
pub fn matmul_with(gpu: &Gpu, variant: MatmulVariant, form: MatmulForm, a: &Tensor, b: &Tensor, c: &Tensor, m: usize, n: usize, k: usize, accumulate: bool) {
    if variant != MatmulVariant::Tiled && takes_dot(form, m, n, k) {
        assert!(a.numel() >= m * k && b.numel() >= k * n && c.numel() >= m * n, "matmul {m}x{n}x{k}: operand too small");
        if m > 0 && n > 0 {
            dot(gpu, a, b, c, m, n, k, accumulate);
        }
        return;
    }
    matmul_config(gpu, MatmulConfig::default_for(variant, m, n, k), form, a, b, c, m, n, k, accumulate)
}

/// `matmul` launched as `config` says (`aer tune` measures each candidate this way).
#[allow(clippy::too_many_arguments)]
pub fn matmul_config(gpu: &Gpu, config: MatmulConfig, form: MatmulForm, a: &Tensor, b: &Tensor, c: &Tensor, m: usize, n: usize, k: usize, accumulate: bool) {
    assert!(a.numel() >= m * k && b.numel() >= k * n && c.numel() >= m * n, "matmul {m}x{n}x{k}: operand too small");
    assert!(config.valid(m, n), "matmul {m}x{n}x{k}: {config:?} is no valid launch");
    if m == 0 || n == 0 {
        return;
    }
    let (ta, tb) = form.trans();
    let (grid, lanes) = (config.grid(m, n), config.lanes);
    let kernel = match config.kernel {
        MatmulVariant::Tiled => TILED,
        MatmulVariant::Wide => Kernel { shader: &MATMUL, entry: WIDE.entry },
        _ => Kernel { shader: &MATMUL, entry: BLOCKED.entry },
    };
    let groups = grid[0] * grid[1];
    let target = config.kernel.target_groups();
    let splits = match config.splits {
        0 if groups < target => target.div_ceil(groups).min(k / MIN_K_CHUNK).max(1),
        0 => 1,
        // A table's splits, within what one binding of partial products holds.
        s => s.min(MAX_PARTIAL_FLOATS / (m * n)).max(1),
    };
    // llvmpipe ends any invocation after 65,535 loop iterations: long K is always split.
    let splits = splits.max(k.div_ceil(MAX_K_PER_INVOCATION));
    // Every workgroup along z covers lanes[2] splits.
    let splits = (splits * lanes[2]).min(k.max(1));
    let k_chunk = k.div_ceil(splits).max(1);
    let splits = k.div_ceil(k_chunk).max(1);
    let params = Params { m: m as u32, n: n as u32, k: k as u32, k_chunk: k_chunk as u32, splits: splits as u32, _pad: [0; 3] };
    let overrides = |accumulate: bool| {
        [
            ("TRANS_A", ta as u32 as f64),
            ("TRANS_B", tb as u32 as f64),
            ("ACCUMULATE", accumulate as u32 as f64),
            ("LANES_X", lanes[0] as f64),
            ("LANES_Y", lanes[1] as f64),
            ("LANES_Z", lanes[2] as f64),
        ]
    };
    let grid = [grid[0] as u32, grid[1] as u32, splits.div_ceil(lanes[2]) as u32];
    if splits == 1 {
        gpu.launch(&kernel, &overrides(accumulate), &params, &[a, b, c], grid);
        return;
    }
    let partial = gpu.empty(&[splits, m, n]);
    gpu.launch(&kernel, &overrides(false), &params, &[a, b, &partial], grid);
    gpu.launch(&REDUCE, &overrides(accumulate), &params, &[a, b, c, &partial], grid_1d(m * n));
}

/// Whether the blocked variant runs `main_dot`: A * B^T with K a multiple of 4, long, and an
/// output of at most two of main_blocked's 32x16 blocks, which it would mostly fill with
/// clamped rows and columns (the cnn's first weight gradient, 16 x 25 over 100,352
/// positions: 27-31 ms against 44-76 on lavapipe). Larger outputs are faster blocked.
pub fn takes_dot(form: MatmulForm, m: usize, n: usize, k: usize) -> bool {
    form == MatmulForm::NT && k.is_multiple_of(4) && k >= DOT_MIN_K && m * n <= DOT_MAX_OUTPUT
}

/// `main_dot`: c (+)= a * b^T, K a multiple of 4, with every lane its own split of k.
#[allow(clippy::too_many_arguments)]
fn dot(gpu: &Gpu, a: &Tensor, b: &Tensor, c: &Tensor, m: usize, n: usize, k: usize, accumulate: bool) {
    let grid = [n.div_ceil(DOT_BLOCK), m.div_ceil(DOT_BLOCK)];
    let groups = grid[0] * grid[1];
    // Layers of splits along z: enough workgroups for every core, each lane's share of k no
    // shorter than 8 vec4s, and never over llvmpipe's loop cap.
    let layers = MatmulVariant::Cpu.target_groups().div_ceil(groups).min(k / (4 * DOT_LANES * 8)).max(1);
    let layers = layers.max(k.div_ceil(4 * DOT_LANES * MAX_K_PER_INVOCATION));
    // Whole vec4s per layer of splits.
    let k_chunk = k.div_ceil(4 * layers) * 4;
    let layers = k.div_ceil(k_chunk);
    let splits = layers * DOT_LANES;
    let params = Params { m: m as u32, n: n as u32, k: k as u32, k_chunk: k_chunk as u32, splits: splits as u32, _pad: [0; 3] };
    let ov = |accumulate: bool| [("TRANS_B", 1.0), ("ACCUMULATE", accumulate as u32 as f64)];
    let partial = gpu.empty(&[splits, m, n]);
    gpu.launch(&DOT, &ov(false), &params, &[a, b, &partial, &partial, a, b], [grid[0] as u32, grid[1] as u32, layers as u32]);
    gpu.launch(&REDUCE, &ov(accumulate), &params, &[a, b, c, &partial], grid_1d(m * n));
}

const MATVEC: Kernel = Kernel { shader: &MATMUL, entry: "matvec" };
const MATVEC_WG: usize = 64;

/// c[m, n] = sum_k a[m, k] * b[n, k] for a few rows m (b is a linear layer's weight [n, k]):
/// the matrix-vector product, one row of `a` per workgroup row.
pub fn matvec(gpu: &Gpu, a: &Tensor, b: &Tensor, c: &Tensor, m: usize, n: usize, k: usize) {
    assert!(a.numel() >= m * k && b.numel() >= k * n && c.numel() >= m * n, "matvec {m}x{n}x{k}: operand too small");
    assert!(m <= 65_535, "matvec: {m} rows exceed one grid dimension; use matmul");
    if m == 0 || n == 0 {
        return;
    }
    let params = Params { m: m as u32, n: n as u32, k: k as u32, k_chunk: k as u32, splits: 1, _pad: [0; 3] };
    // Bindings 5 and 6 view a and b as vec4 (one load for four values) when rows allow it.
    let vec4 = k.is_multiple_of(4) as u32 as f64;
    gpu.launch(&MATVEC, &[("VEC4", vec4)], &params, &[a, b, c, c, a, b], [n.div_ceil(MATVEC_WG * 4) as u32, m as u32, 1]);
}

/// A shape `matmul` was called with: (form, m, n, k, accumulate).
pub type MatmulShape = (MatmulForm, usize, usize, usize, bool);

thread_local! {
    static RECORDED: std::cell::RefCell<Option<Vec<MatmulShape>>> = const { std::cell::RefCell::new(None) };
}

/// Start (or stop, returning them) recording the distinct shapes `matmul` is called with on
/// this thread: how `aer tune` learns which products a training step runs.
pub fn record_shapes(on: bool) -> Vec<MatmulShape> {
    RECORDED.with(|r| std::mem::replace(&mut *r.borrow_mut(), on.then(Vec::new)).unwrap_or_default())
}

fn record(form: MatmulForm, m: usize, n: usize, k: usize, accumulate: bool) {
    RECORDED.with(|r| {
        if let Some(v) = r.borrow_mut().as_mut() {
            if !v.contains(&(form, m, n, k, accumulate)) {
                v.push((form, m, n, k, accumulate));
            }
        }
    });
}
