use super::shaders::{BSR, BSR_FORMAT};
use super::layout::ActivationLayout;
use crate::error::Result;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// Block sizes the kernels are compiled for.
pub const BSR_BLOCKS: [usize; 4] = [4, 8, 16, 32];

/// A weight matrix [n, k] in block-sparse form on the GPU (layout in `shaders/bsr.wgsl`): its
/// kept `block` x `block` blocks, listed by block row and by block column. Built from a mask
/// by `Bsr::from_mask`; `bsr_gather` refreshes the values after the dense weights change.
/// Cloning shares the structure and values (tensors are handles).
#[derive(Clone)]
pub struct Bsr {
    pub n: usize,
    pub k: usize,
    pub block: usize,
    /// Kept blocks.
    pub n_blocks: usize,
    /// Block rows and block columns without any kept block (their outputs are zero).
    pub empty_rows: usize,
    pub empty_cols: usize,
    pub row_ptr: Tensor,
    pub col_idx: Tensor,
    pub block_row: Tensor,
    pub col_ptr: Tensor,
    pub row_idx: Tensor,
    pub col_pos: Tensor,
    pub block_map: Tensor,
    /// f32 [n_blocks, block, block] in row order, column-major within a block.
    pub values: Tensor,
    /// The same blocks in column order, row-major within a block (the input gradient's).
    pub values_t: Tensor,
    /// Block columns holding a kept block, and what restricting a product's inner operand to
    /// them needs (a convolution then builds only those rows of its im2col columns).
    pub active: ActiveColumns,
}

/// The block columns of a `Bsr` that hold a kept block, as a compact inner operand: active
/// column j covers rows j * block .. (j + 1) * block of the compact operand.
#[derive(Clone)]
pub struct ActiveColumns {
    pub count: usize,
    /// u32 [count * block]: the column of W (e.g. the im2col patch row) of each compact row,
    /// u32::MAX past k.
    pub rows: Tensor,
    /// u32 [k]: the compact row of each column of W, u32::MAX where no block reads it.
    pub pos: Tensor,
    /// u32 [n_blocks]: each kept block's active-column rank (col_idx in the compact operand).
    pub col_idx: Tensor,
    /// u32 [count + 1]: col_ptr without the empty block columns.
    pub col_ptr: Tensor,
}

impl Bsr {
    /// The same structure with |values| (the radius product of interval bounds).
    pub fn abs(&self, gpu: &Gpu) -> Bsr {
        let abs = |t: &Tensor| {
            let a = gpu.empty(t.shape());
            super::abs_values(gpu, t, &a);
            a
        };
        Bsr { values: abs(&self.values), values_t: abs(&self.values_t), ..self.clone() }
    }

    pub fn block_rows(&self) -> usize {
        self.n.div_ceil(self.block)
    }

    pub fn block_cols(&self) -> usize {
        self.k.div_ceil(self.block)
    }

    /// Share of blocks kept.
    pub fn density(&self) -> f64 {
        self.n_blocks as f64 / (self.block_rows() * self.block_cols()).max(1) as f64
    }

    /// The structure of `weights` [n, k] with the blocks where `mask` (same shape; the weights
    /// themselves will do) has any nonzero element, and their values. One readback (the
    /// block counts, to size the arrays).
    pub async fn from_mask(gpu: &Gpu, mask: &Tensor, weights: &Tensor, n: usize, k: usize, block: usize) -> Result<Bsr> {
        assert!(BSR_BLOCKS.contains(&block), "block size {block}: the kernels support {BSR_BLOCKS:?}");
        assert!(mask.numel() >= n * k && weights.numel() >= n * k, "bsr [{n}, {k}]: mask or weights too small");
        let (rows, cols) = (n.div_ceil(block), k.div_ceil(block));
        let p = format_params(n, k, block);
        let b = [("B", block as f64)];
        let flags = gpu.empty_u32(&[(rows * cols).max(1)]);
        let row_ptr = gpu.empty_u32(&[rows + 1]);
        let col_ptr = gpu.empty_u32(&[cols + 1]);
        let kernel = |entry| Kernel { shader: &BSR_FORMAT, entry };
        gpu.launch(&kernel("block_flags"), &b, &p, &[mask, &flags], grid_1d(rows * cols));
        for (by_column, out) in [(false, &row_ptr), (true, &col_ptr)] {
            let o = [("B", block as f64), ("BY_COLUMN", by_column as u32 as f64)];
            gpu.launch(&kernel("count_scan"), &o, &p, &[mask, &flags, &flags, out], [1, 1, 1]);
        }
        let ptrs = gpu.read_bytes(&[&row_ptr, &col_ptr]).await?;
        let (rp, cp): (Vec<u32>, Vec<u32>) = (bytemuck::pod_collect_to_vec(&ptrs[0]), bytemuck::pod_collect_to_vec(&ptrs[1]));
        let empty = |ptr: &[u32]| ptr.windows(2).filter(|w| w[0] == w[1]).count();
        let n_blocks = rp[rows] as usize;
        let list = || gpu.empty_u32(&[n_blocks.max(1)]);
        let (col_idx, block_row, row_idx, col_pos, active_idx) = (list(), list(), list(), list(), list());
        let block_map = gpu.empty_u32(&[(rows * cols).max(1)]);
        let (rank, active) = active_columns(gpu, &cp, k, block, active_idx);
        let mut all = vec![mask, &flags, &flags, &row_ptr, &row_ptr, &col_ptr, &col_idx, &block_row, &block_map, &row_idx, &col_pos, &block_map];
        // Bindings 13 to 16 are not used by the fill kernels.
        all.extend([mask, mask, mask, mask, &rank, &active.col_idx]);
        gpu.launch(&kernel("fill_rows"), &b, &p, &all, grid_1d(rows));
        gpu.launch(&kernel("fill_cols"), &b, &p, &all, grid_1d(cols));
        let values = gpu.zeros(&[n_blocks.max(1) * block * block]);
        let values_t = gpu.zeros(&[n_blocks.max(1) * block * block]);
        let (empty_rows, empty_cols) = (empty(&rp), empty(&cp));
        let bsr = Bsr { n, k, block, n_blocks, empty_rows, empty_cols, row_ptr, col_idx, block_row, col_ptr, row_idx, col_pos, block_map, values, values_t, active };
        bsr_gather(gpu, weights, &bsr);
        Ok(bsr)
    }
}

/// From col_ptr (read back): each block column's rank among the active ones (u32::MAX for
/// the others, uploaded for fill_rows) and the active columns' maps.
fn active_columns(gpu: &Gpu, col_ptr: &[u32], k: usize, block: usize, col_idx: Tensor) -> (Tensor, ActiveColumns) {
    let active: Vec<usize> = (0..col_ptr.len() - 1).filter(|&q| col_ptr[q + 1] > col_ptr[q]).collect();
    let mut rank = vec![u32::MAX; col_ptr.len() - 1];
    let mut rows = vec![u32::MAX; (active.len() * block).max(1)];
    let mut pos = vec![u32::MAX; k.max(1)];
    for (j, &q) in active.iter().enumerate() {
        rank[q] = j as u32;
        for t in 0..block {
            let col = q * block + t;
            if col < k {
                rows[j * block + t] = col as u32;
                pos[col] = (j * block + t) as u32;
            }
        }
    }
    let mut ptr: Vec<u32> = active.iter().map(|&q| col_ptr[q]).collect();
    ptr.push(*col_ptr.last().unwrap());
    let rank = gpu.upload_u32(&rank, &[rank.len()]);
    let rows_t = gpu.upload_u32(&rows, &[rows.len()]);
    let pos = gpu.upload_u32(&pos, &[pos.len()]);
    let col_ptr = gpu.upload_u32(&ptr, &[ptr.len()]);
    (rank, ActiveColumns { count: active.len(), rows: rows_t, pos, col_idx, col_ptr })
}

/// The geometry of `block` x `block` blocks over an [n, k] matrix.
fn format_params(n: usize, k: usize, block: usize) -> FormatParams {
    FormatParams { n: n as u32, k: k as u32, rows: n.div_ceil(block) as u32, cols: k.div_ceil(block) as u32 }
}

/// keys [tiles] ordering like each tile's mean square (tiles of `tile` = (rows, cols) over the
/// weight matrix [n, k], row-major; never 0, so that `select_top_k` may pick every one): the
/// score block pruning (tile (B, B)) and channel pruning (tile (1, k)) rank by.
pub fn block_norm_keys(gpu: &Gpu, weights: &Tensor, n: usize, k: usize, tile: (usize, usize), keys: &Tensor) {
    let p = tile_params(n, k, tile);
    let tiles = (p.rows * p.cols) as usize;
    assert!(weights.numel() >= n * k && keys.numel() >= tiles, "block_norm_keys [{n}, {k}] / {tile:?}: operand too small");
    let kernel = Kernel { shader: &BSR_FORMAT, entry: "block_norm_keys" };
    let mut t = vec![weights; 14];
    t[13] = keys;
    gpu.launch(&kernel, &tile_overrides(tile), &p, &t, grid_1d(tiles));
}

/// mask [n, k] = keep[tile of each element]: an element mask from a 0/1 mask over tiles.
pub fn expand_block_mask(gpu: &Gpu, keep: &Tensor, n: usize, k: usize, tile: (usize, usize), mask: &Tensor) {
    let p = tile_params(n, k, tile);
    assert!(keep.numel() >= (p.rows * p.cols) as usize && mask.numel() >= n * k, "expand_block_mask [{n}, {k}] / {tile:?}: operand too small");
    let kernel = Kernel { shader: &BSR_FORMAT, entry: "expand_block_mask" };
    let mut t = vec![keep; 16];
    t[15] = mask;
    gpu.launch(&kernel, &tile_overrides(tile), &p, &t, grid_1d(n * k));
}

fn tile_params(n: usize, k: usize, (rows, cols): (usize, usize)) -> FormatParams {
    FormatParams { n: n as u32, k: k as u32, rows: n.div_ceil(rows) as u32, cols: k.div_ceil(cols) as u32 }
}

fn tile_overrides((rows, cols): (usize, usize)) -> [(&'static str, f64); 2] {
    [("B", rows as f64), ("BW", cols as f64)]
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FormatParams {
    n: u32,
    k: u32,
    rows: u32,
    cols: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable, Default)]
pub(super) struct Params {
    pub(super) m: u32,
    pub(super) nc: u32,
    pub(super) ni: u32,
    pub(super) tiles: u32,
    pub(super) n_blocks: u32,
    pub(super) block_cols: u32,
    pub(super) m_chunk: u32,
    pub(super) splits: u32,
    pub(super) total: u32,
    pub(super) load_nc: u32,
    pub(super) _pad: [u32; 2],
}

/// Rows of the output per invocation of `bsr_matmul`.
const ROWS: usize = 16;
/// Lanes per workgroup at most: one SIMD group of a CPU adapter.
const LANES: usize = 8;
/// Steps over m one invocation of the weight gradient may take (llvmpipe stops any
/// invocation after 65,535 loop iterations).
const MAX_M_PER_INVOCATION: usize = 16_384;
/// Aim for at least this many workgroups in the weight gradient, splitting m to get them.
const TARGET_GROUPS: usize = 16;
const MIN_M_CHUNK: usize = 256;
pub(super) const MAX_GROUPS: usize = 65_535;

/// Groups of four output columns per invocation: of `bsr_matmul`, and of `bsr_weight_grad`.
fn product_col_groups(block: usize) -> usize {
    block.min(32) / 4
}

fn col_groups(block: usize) -> usize {
    block.min(16) / 4
}

fn row_groups(block: usize) -> usize {
    block.min(32) / 4
}

/// Which list of blocks a product walks, and how long its operands are.
pub(super) struct Walk<'a> {
    /// Panel pointers, inner block of each entry, and the values in that entry order.
    pub(super) ptr: &'a Tensor,
    pub(super) inner: &'a Tensor,
    pub(super) values: &'a Tensor,
    pub(super) panels: usize,
    /// Panels without entries (the output is cleared first if there are any).
    pub(super) empty: usize,
    /// Inner length and output columns.
    pub(super) ni: usize,
    pub(super) nc: usize,
}

/// How `bsr_matmul` and `bsr_ternary_matmul` (which follows it) are launched along a walk:
/// the parameters, the specialisation overrides they share (a kernel appends its own) and the
/// grid.
pub(super) struct ProductLaunch {
    pub(super) params: Params,
    pub(super) overrides: Vec<(&'static str, f64)>,
    pub(super) grid: [u32; 3],
}

/// The launch of c = a w(inner, col) along `walk` over m rows (see `product`), after checking
/// the operands and clearing an output that has empty panels; None where the product is empty.
/// Column tiles per panel, then lanes along rows and along tiles fill a SIMD group.
#[allow(clippy::too_many_arguments)]
pub(super) fn product_launch(gpu: &Gpu, name: &str, block: usize, walk: &Walk, a: &Tensor, c: &Tensor, m: usize, trans_a: bool, trans_c: bool) -> Option<ProductLaunch> {
    let (panels, empty, ni, nc) = (walk.panels, walk.empty, walk.ni, walk.nc);
    assert!(a.numel() >= m * ni && c.numel() >= m * nc, "{name} product {m}x{nc}x{ni}: operand too small");
    if m == 0 || nc == 0 {
        return None;
    }
    // Clearing is a memset: cheaper than storing the zeros of empty panels one by one.
    if empty > 0 {
        gpu.fill_zero(c);
    }
    let col_groups = product_col_groups(block);
    let tiles = block / (4 * col_groups);
    let row_tiles = m.div_ceil(ROWS);
    let lanes = row_tiles.next_power_of_two().min(LANES);
    // Fill the rest of a SIMD group with neighbouring column tiles.
    let lanes_p = (LANES / lanes).min((panels * tiles).next_power_of_two());
    let grid = [row_tiles.div_ceil(lanes), (panels * tiles).div_ceil(lanes_p)];
    assert!(grid.iter().all(|&g| g <= MAX_GROUPS), "{name} product {m}x{nc}x{ni}: grid {grid:?} exceeds 65,535 workgroups per dimension");
    let params = Params { m: m as u32, nc: nc as u32, ni: ni as u32, tiles: tiles as u32, total: (panels * tiles) as u32, ..Default::default() };
    let overrides = vec![
        ("B", block as f64),
        ("COL_GROUPS", col_groups as f64),
        ("LANES", lanes as f64),
        ("LANES_P", lanes_p as f64),
        ("INNER_EVEN", ni.is_multiple_of(block) as u32 as f64),
        ("SKIP_EMPTY", (empty > 0) as u32 as f64),
        ("TRANS_A", trans_a as u32 as f64),
        ("TRANS_C", trans_c as u32 as f64),
    ];
    Some(ProductLaunch { params, overrides, grid: [grid[0] as u32, grid[1] as u32, 1] })
}

impl Bsr {
    /// The forward walk (block rows), over all k columns or the active ones only.
    pub(super) fn rows_walk(&self, active_only: bool) -> Walk<'_> {
        let (inner, ni) = if active_only { (&self.active.col_idx, self.active.count * self.block) } else { (&self.col_idx, self.k) };
        Walk { ptr: &self.row_ptr, inner, values: &self.values, panels: self.block_rows(), empty: self.empty_rows, ni, nc: self.n }
    }

    /// The input gradient's walk (block columns), producing all k columns or the active ones.
    pub(super) fn cols_walk(&self, active_only: bool) -> Walk<'_> {
        let (ptr, panels, empty, nc) = if active_only {
            (&self.active.col_ptr, self.active.count, 0, self.active.count * self.block)
        } else {
            (&self.col_ptr, self.block_cols(), self.empty_cols, self.k)
        };
        Walk { ptr, inner: &self.row_idx, values: &self.values_t, panels, empty, ni: self.n, nc }
    }
}

/// c = a w(inner, col) along `walk`: `a` holds m rows of the inner operand, `c` receives m rows
/// of the output; `trans_a` / `trans_c`: stored [inner, m] / [cols, m].
#[allow(clippy::too_many_arguments)]
fn product(gpu: &Gpu, block: usize, walk: Walk, a: &Tensor, c: &Tensor, m: usize, trans_a: bool, trans_c: bool) {
    let Some(launch) = product_launch(gpu, "bsr", block, &walk, a, c, m, trans_a, trans_c) else {
        return;
    };
    let kernel = Kernel { shader: &BSR, entry: "bsr_matmul" };
    gpu.launch(&kernel, &launch.overrides, &launch.params, &[a, a, walk.values, walk.ptr, walk.inner, walk.inner, c], launch.grid);
}

/// y[m, n] = sum_k x[m, k] W[n, k] over the kept blocks of W (layouts as the ternary product's:
/// `trans_x` for im2col columns [k, m], `trans_y` for a channel-major output [n, m]).
pub fn bsr_matmul(gpu: &Gpu, x: &Tensor, w: &Bsr, y: &Tensor, m: usize, layout: ActivationLayout) {
    product(gpu, w.block, w.rows_walk(false), x, y, m, layout.trans_x, layout.trans_y);
}

/// dx[m, k] = sum_n dy[m, n] W[n, k]: the input gradient of `bsr_matmul` (dy laid out as its
/// y, dx as its x), walking W's blocks by block column.
pub fn bsr_matmul_t(gpu: &Gpu, dy: &Tensor, w: &Bsr, dx: &Tensor, m: usize, layout: ActivationLayout) {
    product(gpu, w.block, w.cols_walk(false), dy, dx, m, layout.trans_y, layout.trans_x);
}

/// A convolution's forward on im2col columns restricted to W's active columns
/// (`im2col_rows` with `w.active.rows`): cols [active * block, m] -> y [n, m].
pub fn bsr_conv_forward(gpu: &Gpu, cols: &Tensor, w: &Bsr, y: &Tensor, m: usize) {
    product(gpu, w.block, w.rows_walk(true), cols, y, m, true, true);
}

/// Its input gradient: dy [n, m] -> dcols [active * block, m] (`col2im_rows` with
/// `w.active.pos` makes dx of it).
pub fn bsr_conv_backward_data(gpu: &Gpu, dy: &Tensor, w: &Bsr, dcols: &Tensor, m: usize) {
    product(gpu, w.block, w.cols_walk(true), dy, dcols, m, true, true);
}

/// dw[n, k] = sum_m dy[m, n] x[m, k] inside W's kept blocks and 0 outside (dw is the dense
/// gradient [n, k]): only the kept blocks are computed, m split into slices to fill the GPU.
pub fn bsr_weight_grad(gpu: &Gpu, dy: &Tensor, x: &Tensor, w: &Bsr, dw: &Tensor, m: usize, layout: ActivationLayout) {
    weight_grad(gpu, dy, x, w, dw, m, layout, false);
}

/// The weight gradient of a convolution from im2col columns restricted to W's active columns
/// (as `bsr_conv_forward` reads them): dy [n, m], cols [active * block, m].
pub fn bsr_conv_weight_grad(gpu: &Gpu, dy: &Tensor, cols: &Tensor, w: &Bsr, dw: &Tensor, m: usize) {
    weight_grad(gpu, dy, cols, w, dw, m, ActivationLayout::CONV, true);
}

#[allow(clippy::too_many_arguments)]
fn weight_grad(gpu: &Gpu, dy: &Tensor, x: &Tensor, w: &Bsr, dw: &Tensor, m: usize, layout: ActivationLayout, active_only: bool) {
    let (x_cols, x_idx) = if active_only { (w.active.count * w.block, &w.active.col_idx) } else { (w.k, &w.col_idx) };
    assert!(dy.numel() >= m * w.n && x.numel() >= m * x_cols && dw.numel() >= w.n * w.k, "bsr_weight_grad {}x{}x{m}: operand too small", w.n, w.k);
    if w.n * w.k == 0 {
        return;
    }
    gpu.fill_zero(dw);
    if w.n_blocks == 0 || m == 0 {
        return;
    }
    let bb = w.block * w.block;
    let tiles = bb / (16 * row_groups(w.block) * col_groups(w.block));
    let invocations = w.n_blocks * tiles;
    // Fewer tiles than a SIMD group's lanes: the spare lanes split m instead (lanes_m per tile).
    let lanes_m = (LANES / invocations.next_power_of_two()).max(1);
    let lanes = (invocations.next_power_of_two() * lanes_m).min(LANES);
    let groups = invocations.div_ceil(lanes / lanes_m);
    assert!(groups <= MAX_GROUPS, "bsr_weight_grad: {} blocks of {} exceed one grid dimension", w.n_blocks, w.block);
    let wanted = if groups < TARGET_GROUPS { TARGET_GROUPS.div_ceil(groups).min(m / MIN_M_CHUNK).max(1) } else { 1 };
    // Slices of m: workgroup rows of lanes_m slices each.
    let splits = (wanted * lanes_m).max(m.div_ceil(MAX_M_PER_INVOCATION));
    let m_chunk = m.div_ceil(splits);
    let rows = m.div_ceil(m_chunk).div_ceil(lanes_m);
    let splits = rows * lanes_m;
    let total = w.n_blocks * bb;
    let p = Params {
        m: m as u32,
        nc: w.k as u32,
        ni: w.n as u32,
        tiles: tiles as u32,
        n_blocks: w.n_blocks as u32,
        m_chunk: m_chunk as u32,
        splits: splits as u32,
        total: total as u32,
        load_nc: x_cols as u32,
        ..Default::default()
    };
    let direct = splits == 1;
    let overrides = [
        ("B", w.block as f64),
        ("COL_GROUPS", col_groups(w.block) as f64),
        ("ROW_GROUPS", row_groups(w.block) as f64),
        ("TRANS_A", layout.trans_x as u32 as f64),
        ("TRANS_C", layout.trans_y as u32 as f64),
        ("LANES", lanes as f64),
        ("LANES_M", lanes_m as f64),
        ("DIRECT", direct as u32 as f64),
        // Rows of x and dy read four values at a time where they are rows of the layer.
        ("X_VEC4", (!layout.trans_x && x_cols.is_multiple_of(4)) as u32 as f64),
        ("G_VEC4", (!layout.trans_y && w.n.is_multiple_of(4)) as u32 as f64),
    ];
    let grad = Kernel { shader: &BSR, entry: "bsr_weight_grad" };
    let partial = if direct { dw.clone() } else { gpu.empty(&[splits * total]) };
    let bind = [x, x, x, x, &w.col_idx, &w.block_row, &partial, dy, dy, dy, dy, dy, dy, x_idx];
    gpu.launch(&grad, &overrides, &p, &bind, [groups as u32, rows as u32, 1]);
    if !direct {
        let reduce = Kernel { shader: &BSR, entry: "bsr_reduce" };
        gpu.launch(&reduce, &[("B", w.block as f64)], &p, &[x, x, x, x, &w.col_idx, &w.block_row, dw, &partial], grid_1d(total));
    }
}

/// Copy the dense weights [n, k] into the kept blocks' values, in both orders (after an
/// optimizer step, or anything else that changes the weights).
pub fn bsr_gather(gpu: &Gpu, weights: &Tensor, w: &Bsr) {
    let total = w.n * w.k;
    assert!(weights.numel() >= total, "bsr_gather: weights smaller than [{}, {}]", w.n, w.k);
    if total == 0 || w.n_blocks == 0 {
        return;
    }
    let p = Params { nc: w.k as u32, block_cols: w.block_cols() as u32, total: total as u32, ..Default::default() };
    let kernel = Kernel { shader: &BSR, entry: "bsr_gather" };
    let t = [weights, weights, weights, weights, weights, weights, weights, weights, weights, &w.block_map, &w.col_pos, &w.values, &w.values_t];
    gpu.launch(&kernel, &[("B", w.block as f64)], &p, &t, grid_1d(total));
}
