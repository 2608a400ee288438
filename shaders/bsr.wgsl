// Block-sparse (BSR) products: a weight matrix W [N, K] (a linear layer's [out, in], or a
// convolution's [out, in * kh * kw]) stored as its kept B x B blocks, so that the work skips
// every zero block. `aer::kernels::Bsr` builds the structure (shaders/bsr_format.wgsl):
//
//   row_ptr [R + 1], col_idx [nnzb], block_row [nnzb]   kept blocks row by row (R = ceil(N / B))
//   col_ptr [Q + 1], row_idx [nnzb]                      the same blocks column by column
//                                                       (Q = ceil(K / B))
//   block_map [R * Q], col_pos [nnzb]                    block (r, q) -> row-order id, or NONE;
//                                                       row-order id -> column-order entry
//   values [nnzb, B, B]    row-order block j, element (n, k) at j B^2 + k B + n
//   values_t [nnzb, B, B]  column-order entry e, element (n, k) at e B^2 + n B + k
//
// Both value arrays are zero past N and K. Each product walks one list in order and reads its
// block's B values along the output side contiguously, four at a time:
//   bsr_matmul on (row_ptr, col_idx, values)     y = x W^T        (forward)
//   bsr_matmul on (col_ptr, row_idx, values_t)   dx = dy W        (input gradient)
//   bsr_weight_grad                              dW = dy^T x on the kept blocks only
//
// Layouts as the ternary kernels': x [M, K] or [K, M] (im2col columns), y [M, N] or [N, M]
// (a convolution's channel-major output).
//
// Like matmul.wgsl's main_blocked, each invocation keeps up to 512 outputs in named registers:
// CPU adapters issue loads lane by lane, so reuse per load is what counts. In bsr_matmul the
// lanes of a SIMD group share one panel, so the weight loads are the same address for all of
// them (as the activation loads are in main_blocked) and only 16 activation loads per step
// differ between lanes.

// Block size: 4, 8, 16 or 32.
override B: u32 = 32u;
// Groups of four output columns per invocation: bsr_matmul min(B, 32) / 4 (1, 2, 4 or 8);
// bsr_weight_grad min(B, 16) / 4 (1, 2 or 4).
override COL_GROUPS: u32 = 8u;
// bsr_weight_grad: groups of four block rows per invocation: min(B, 32) / 4 (1, 2, 4 or 8).
override ROW_GROUPS: u32 = 8u;
// The activation operand is stored [inner, M] rather than [M, inner] (im2col columns).
override TRANS_A: bool = false;
// The output (bsr_matmul) or the output gradient (bsr_weight_grad) is stored [cols, M].
override TRANS_C: bool = false;
override LANES: u32 = 8u;
// bsr_matmul: lanes along the column tiles too, when M is too short to fill a SIMD group
// with rows alone (lanes then walk neighbouring panels, whose block counts differ a little).
override LANES_P: u32 = 1u;
// bsr_weight_grad: lanes of a workgroup that take different slices of m, when the kept blocks
// have fewer tiles than a SIMD group has lanes (one block of 32 has two).
override LANES_M: u32 = 1u;
// bsr_matmul: the inner length is a multiple of B (every block's trip count is B).
override INNER_EVEN: bool = false;
// bsr_matmul: the output was cleared, so panels without blocks store nothing.
override SKIP_EMPTY: bool = false;
// bsr_weight_grad: one slice of m, so each invocation stores straight into the (cleared) dense
// gradient instead of a partial slice that bsr_reduce sums.
override DIRECT: bool = false;
// bsr_weight_grad, linear layout: x [M, K] and dy [M, N] with K and N multiples of 4 are read
// four values at a time.
override X_VEC4: bool = false;
override G_VEC4: bool = false;

// m: rows of the dense operands (batch rows or positions). nc: output columns of bsr_matmul,
// K elsewhere. ni: inner length of bsr_matmul, N elsewhere. tiles: column tiles per panel
// (bsr_matmul) or per block (bsr_weight_grad). total: column tiles (bsr_matmul), or the
// elements to cover (1-D kernels). load_nc: bsr_weight_grad's rows of x (K, or the active
// rows of restricted im2col columns).
struct Params {
    m: u32, nc: u32, ni: u32, tiles: u32,
    n_blocks: u32, block_cols: u32, m_chunk: u32, splits: u32,
    total: u32, load_nc: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// bsr_matmul: x (or dy). bsr_weight_grad: x. bsr_gather: the dense weights.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> a_vec4: array<vec4<f32>>;
// values (forward) or values_t (input gradient).
@group(0) @binding(3) var<storage, read> w_vec4: array<vec4<f32>>;
// row_ptr or col_ptr.
@group(0) @binding(4) var<storage, read> panel_ptr: array<u32>;
// col_idx or row_idx: the inner block of each entry.
@group(0) @binding(5) var<storage, read> inner_idx: array<u32>;
@group(0) @binding(6) var<storage, read> block_row: array<u32>;
// bsr_matmul: the output. bsr_weight_grad, bsr_reduce: the dense gradient, or partial slices.
@group(0) @binding(7) var<storage, read_write> c: array<f32>;
// bsr_weight_grad: dy. bsr_reduce: the partial slices.
@group(0) @binding(8) var<storage, read> g: array<f32>;
@group(0) @binding(9) var<storage, read> g_vec4: array<vec4<f32>>;
@group(0) @binding(10) var<storage, read> block_map: array<u32>;
@group(0) @binding(11) var<storage, read> col_pos: array<u32>;
@group(0) @binding(12) var<storage, read_write> values_out: array<f32>;
@group(0) @binding(13) var<storage, read_write> values_t_out: array<f32>;
// bsr_weight_grad: each block's column in x (col_idx, or col_compact for restricted columns).
@group(0) @binding(14) var<storage, read> load_inner: array<u32>;

const NONE: u32 = 0xffffffffu;

// ---- bsr_matmul --------------------------------------------------------------------------------

// Four weights of the block at `base`, inner offset i, output columns cl..cl+3 (block-local).
fn load_w4(base: u32, i: u32, cl: u32) -> vec4<f32> {
    return w_vec4[(base + i * B + cl) / 4u];
}

// c[m, col] = sum over the panel's entries and their inner indices of a[m, inner] w(inner, col).
// Each invocation covers 16 rows and COL_GROUPS * 4 columns of one panel; invocation x runs
// along the rows, y along the column tiles (panel * tiles + tile; p.total of them).
@compute @workgroup_size(LANES, LANES_P)
fn bsr_matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wg.x * LANES + lid.x) * 16u;
    let t = wg.y * LANES_P + lid.y;
    let tile_ok = t < p.total;
    let tc = min(t, p.total - 1u);
    let panel = tc / p.tiles;
    let cl = (tc % p.tiles) * (COL_GROUPS * 4u);
    let col = panel * B + cl;
    let lo = panel_ptr[panel];
    let hi = panel_ptr[panel + 1u];
    if (SKIP_EMPTY && lo == hi) { return; }
    // m{i}{j}: rows r + 4i.., columns col + 4j.. (named, not an array, to stay in registers).
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>(); var m04 = mat4x4<f32>(); var m05 = mat4x4<f32>(); var m06 = mat4x4<f32>(); var m07 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>(); var m14 = mat4x4<f32>(); var m15 = mat4x4<f32>(); var m16 = mat4x4<f32>(); var m17 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>(); var m24 = mat4x4<f32>(); var m25 = mat4x4<f32>(); var m26 = mat4x4<f32>(); var m27 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>(); var m34 = mat4x4<f32>(); var m35 = mat4x4<f32>(); var m36 = mat4x4<f32>(); var m37 = mat4x4<f32>();
    for (var e = lo; e < hi; e++) {
        let i0 = inner_idx[e] * B;
        let base = e * B * B;
        // The last inner block may overhang: stop at ni rather than read past it.
        var len = B;
        if (!INNER_EVEN) { len = min(B, p.ni - i0); }
        for (var i = 0u; i < len; i++) {
            let k = i0 + i;
            let b0 = load_w4(base, i, cl);
            var b1 = vec4<f32>(); var b2 = vec4<f32>(); var b3 = vec4<f32>();
            var b4 = vec4<f32>(); var b5 = vec4<f32>(); var b6 = vec4<f32>(); var b7 = vec4<f32>();
            if (COL_GROUPS > 1u) { b1 = load_w4(base, i, cl + 4u); }
            if (COL_GROUPS > 2u) { b2 = load_w4(base, i, cl + 8u); b3 = load_w4(base, i, cl + 12u); }
            if (COL_GROUPS > 4u) {
                b4 = load_w4(base, i, cl + 16u); b5 = load_w4(base, i, cl + 20u);
                b6 = load_w4(base, i, cl + 24u); b7 = load_w4(base, i, cl + 28u);
            }
            let a0 = bsr_load_a4(r + 0u, k);
            m00 = outer_acc(m00, a0, b0);
            if (COL_GROUPS > 1u) { m01 = outer_acc(m01, a0, b1); }
            if (COL_GROUPS > 2u) { m02 = outer_acc(m02, a0, b2); m03 = outer_acc(m03, a0, b3); }
            if (COL_GROUPS > 4u) { m04 = outer_acc(m04, a0, b4); m05 = outer_acc(m05, a0, b5); m06 = outer_acc(m06, a0, b6); m07 = outer_acc(m07, a0, b7); }
            let a1 = bsr_load_a4(r + 4u, k);
            m10 = outer_acc(m10, a1, b0);
            if (COL_GROUPS > 1u) { m11 = outer_acc(m11, a1, b1); }
            if (COL_GROUPS > 2u) { m12 = outer_acc(m12, a1, b2); m13 = outer_acc(m13, a1, b3); }
            if (COL_GROUPS > 4u) { m14 = outer_acc(m14, a1, b4); m15 = outer_acc(m15, a1, b5); m16 = outer_acc(m16, a1, b6); m17 = outer_acc(m17, a1, b7); }
            let a2 = bsr_load_a4(r + 8u, k);
            m20 = outer_acc(m20, a2, b0);
            if (COL_GROUPS > 1u) { m21 = outer_acc(m21, a2, b1); }
            if (COL_GROUPS > 2u) { m22 = outer_acc(m22, a2, b2); m23 = outer_acc(m23, a2, b3); }
            if (COL_GROUPS > 4u) { m24 = outer_acc(m24, a2, b4); m25 = outer_acc(m25, a2, b5); m26 = outer_acc(m26, a2, b6); m27 = outer_acc(m27, a2, b7); }
            let a3 = bsr_load_a4(r + 12u, k);
            m30 = outer_acc(m30, a3, b0);
            if (COL_GROUPS > 1u) { m31 = outer_acc(m31, a3, b1); }
            if (COL_GROUPS > 2u) { m32 = outer_acc(m32, a3, b2); m33 = outer_acc(m33, a3, b3); }
            if (COL_GROUPS > 4u) { m34 = outer_acc(m34, a3, b4); m35 = outer_acc(m35, a3, b5); m36 = outer_acc(m36, a3, b6); m37 = outer_acc(m37, a3, b7); }
        }
    }
    if (r >= p.m || !tile_ok) { return; }
    bsr_store_block(r, col, m00); bsr_store_block(r + 4u, col, m10); bsr_store_block(r + 8u, col, m20); bsr_store_block(r + 12u, col, m30);
    if (COL_GROUPS > 1u) {
        bsr_store_block(r, col + 4u, m01); bsr_store_block(r + 4u, col + 4u, m11); bsr_store_block(r + 8u, col + 4u, m21); bsr_store_block(r + 12u, col + 4u, m31);
    }
    if (COL_GROUPS > 2u) {
        bsr_store_block(r, col + 8u, m02); bsr_store_block(r + 4u, col + 8u, m12); bsr_store_block(r + 8u, col + 8u, m22); bsr_store_block(r + 12u, col + 8u, m32);
        bsr_store_block(r, col + 12u, m03); bsr_store_block(r + 4u, col + 12u, m13); bsr_store_block(r + 8u, col + 12u, m23); bsr_store_block(r + 12u, col + 12u, m33);
    }
    if (COL_GROUPS > 4u) {
        bsr_store_block(r, col + 16u, m04); bsr_store_block(r + 4u, col + 16u, m14); bsr_store_block(r + 8u, col + 16u, m24); bsr_store_block(r + 12u, col + 16u, m34);
        bsr_store_block(r, col + 20u, m05); bsr_store_block(r + 4u, col + 20u, m15); bsr_store_block(r + 8u, col + 20u, m25); bsr_store_block(r + 12u, col + 20u, m35);
        bsr_store_block(r, col + 24u, m06); bsr_store_block(r + 4u, col + 24u, m16); bsr_store_block(r + 8u, col + 24u, m26); bsr_store_block(r + 12u, col + 24u, m36);
        bsr_store_block(r, col + 28u, m07); bsr_store_block(r + 4u, col + 28u, m17); bsr_store_block(r + 8u, col + 28u, m27); bsr_store_block(r + 12u, col + 28u, m37);
    }
}

// ---- bsr_weight_grad ---------------------------------------------------------------------------

// dy at (row m, output n) and x at (row m, input k), four along n or k, clamped to valid
// addresses: rows n past N and columns k past K only fill padding, which is never stored.
fn load_g4(m: u32, n: u32) -> vec4<f32> {
    if (G_VEC4) { return g_vec4[(m * p.ni + min(n, p.ni - 4u)) / 4u]; }
    let l = p.ni - 1u;
    if (TRANS_C) {
        return vec4<f32>(g[min(n, l) * p.m + m], g[min(n + 1u, l) * p.m + m], g[min(n + 2u, l) * p.m + m], g[min(n + 3u, l) * p.m + m]);
    }
    let row = m * p.ni;
    return vec4<f32>(g[row + min(n, l)], g[row + min(n + 1u, l)], g[row + min(n + 2u, l)], g[row + min(n + 3u, l)]);
}

fn load_x4(m: u32, k: u32) -> vec4<f32> {
    if (X_VEC4) { return a_vec4[(m * p.load_nc + min(k, p.load_nc - 4u)) / 4u]; }
    let l = p.load_nc - 1u;
    if (TRANS_A) {
        return vec4<f32>(a[min(k, l) * p.m + m], a[min(k + 1u, l) * p.m + m], a[min(k + 2u, l) * p.m + m], a[min(k + 3u, l) * p.m + m]);
    }
    let row = m * p.load_nc;
    return vec4<f32>(a[row + min(k, l)], a[row + min(k + 1u, l)], a[row + min(k + 2u, l)], a[row + min(k + 3u, l)]);
}

// Gradient (n, k) of block `id`: straight into the dense gradient [N, K] (DIRECT), or into
// slice z of the partial sums [splits, nnzb, B, B] (row-major within a block).
fn store_grad(z: u32, id: u32, n: u32, k: u32, v: f32) {
    if (DIRECT) {
        if (n < p.ni && k < p.nc) { c[n * p.nc + k] = v; }
    } else {
        c[(z * p.n_blocks + id) * B * B + (n % B) * B + k % B] = v;
    }
}

// Constant component indices throughout, so the accumulators stay in registers.
fn store_grad4(z: u32, id: u32, n: u32, k: u32, v: vec4<f32>) {
    store_grad(z, id, n, k, v.x);
    store_grad(z, id, n, k + 1u, v.y);
    store_grad(z, id, n, k + 2u, v.z);
    store_grad(z, id, n, k + 3u, v.w);
}

fn store_grad_block(z: u32, id: u32, n: u32, k: u32, blk: mat4x4<f32>) {
    store_grad4(z, id, n, k, blk[0]);
    store_grad4(z, id, n + 1u, k, blk[1]);
    store_grad4(z, id, n + 2u, k, blk[2]);
    store_grad4(z, id, n + 3u, k, blk[3]);
}

// dW on kept block j: sum over m of dy[m, n] x[m, k] for the block's n and k, over slice z
// (workgroup y) of m. Each invocation covers ROW_GROUPS * 4 rows and COL_GROUPS * 4 columns of
// one block; `tiles` of them make a block. Every lane loops over as many m, so control flow
// is uniform; the loads differ per lane. With LANES_M > 1, neighbouring lanes take the same
// tile over different slices z of m.
@compute @workgroup_size(LANES)
fn bsr_weight_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = wg.x * (LANES / LANES_M) + lid.x / LANES_M;
    let z = wg.y * LANES_M + lid.x % LANES_M;
    let in_range = t < p.n_blocks * p.tiles;
    let id = min(t / p.tiles, p.n_blocks - 1u);
    let tile = t % p.tiles;
    let col_tiles = B / (COL_GROUPS * 4u);
    let n0 = block_row[id] * B + (tile / col_tiles) * (ROW_GROUPS * 4u);
    let kl = (tile % col_tiles) * (COL_GROUPS * 4u);
    // Where the block's columns are stored (k0) and where they are read in x (kx).
    let k0 = inner_idx[id] * B + kl;
    let kx = load_inner[id] * B + kl;
    let m_lo = min(z * p.m_chunk, p.m);
    let m_hi = min(m_lo + p.m_chunk, p.m);
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>();
    var m40 = mat4x4<f32>(); var m41 = mat4x4<f32>(); var m42 = mat4x4<f32>(); var m43 = mat4x4<f32>();
    var m50 = mat4x4<f32>(); var m51 = mat4x4<f32>(); var m52 = mat4x4<f32>(); var m53 = mat4x4<f32>();
    var m60 = mat4x4<f32>(); var m61 = mat4x4<f32>(); var m62 = mat4x4<f32>(); var m63 = mat4x4<f32>();
    var m70 = mat4x4<f32>(); var m71 = mat4x4<f32>(); var m72 = mat4x4<f32>(); var m73 = mat4x4<f32>();
    for (var m = m_lo; m < m_hi; m++) {
        let x0 = load_x4(m, kx);
        var x1 = vec4<f32>(); var x2 = vec4<f32>(); var x3 = vec4<f32>();
        if (COL_GROUPS > 1u) { x1 = load_x4(m, kx + 4u); }
        if (COL_GROUPS > 2u) { x2 = load_x4(m, kx + 8u); x3 = load_x4(m, kx + 12u); }
        let g0 = load_g4(m, n0);
        m00 = outer_acc(m00, g0, x0);
        if (COL_GROUPS > 1u) { m01 = outer_acc(m01, g0, x1); }
        if (COL_GROUPS > 2u) { m02 = outer_acc(m02, g0, x2); m03 = outer_acc(m03, g0, x3); }
        if (ROW_GROUPS > 1u) {
            let g1 = load_g4(m, n0 + 4u);
            m10 = outer_acc(m10, g1, x0);
            if (COL_GROUPS > 1u) { m11 = outer_acc(m11, g1, x1); }
            if (COL_GROUPS > 2u) { m12 = outer_acc(m12, g1, x2); m13 = outer_acc(m13, g1, x3); }
        }
        if (ROW_GROUPS > 2u) {
            let g2 = load_g4(m, n0 + 8u);
            m20 = outer_acc(m20, g2, x0);
            if (COL_GROUPS > 1u) { m21 = outer_acc(m21, g2, x1); }
            if (COL_GROUPS > 2u) { m22 = outer_acc(m22, g2, x2); m23 = outer_acc(m23, g2, x3); }
            let g3 = load_g4(m, n0 + 12u);
            m30 = outer_acc(m30, g3, x0);
            if (COL_GROUPS > 1u) { m31 = outer_acc(m31, g3, x1); }
            if (COL_GROUPS > 2u) { m32 = outer_acc(m32, g3, x2); m33 = outer_acc(m33, g3, x3); }
        }
        if (ROW_GROUPS > 4u) {
            let g4 = load_g4(m, n0 + 16u);
            m40 = outer_acc(m40, g4, x0);
            if (COL_GROUPS > 1u) { m41 = outer_acc(m41, g4, x1); }
            if (COL_GROUPS > 2u) { m42 = outer_acc(m42, g4, x2); m43 = outer_acc(m43, g4, x3); }
            let g5 = load_g4(m, n0 + 20u);
            m50 = outer_acc(m50, g5, x0);
            if (COL_GROUPS > 1u) { m51 = outer_acc(m51, g5, x1); }
            if (COL_GROUPS > 2u) { m52 = outer_acc(m52, g5, x2); m53 = outer_acc(m53, g5, x3); }
            let g6 = load_g4(m, n0 + 24u);
            m60 = outer_acc(m60, g6, x0);
            if (COL_GROUPS > 1u) { m61 = outer_acc(m61, g6, x1); }
            if (COL_GROUPS > 2u) { m62 = outer_acc(m62, g6, x2); m63 = outer_acc(m63, g6, x3); }
            let g7 = load_g4(m, n0 + 28u);
            m70 = outer_acc(m70, g7, x0);
            if (COL_GROUPS > 1u) { m71 = outer_acc(m71, g7, x1); }
            if (COL_GROUPS > 2u) { m72 = outer_acc(m72, g7, x2); m73 = outer_acc(m73, g7, x3); }
        }
    }
    if (!in_range) { return; }
    store_grad_block(z, id, n0, k0, m00);
    if (COL_GROUPS > 1u) { store_grad_block(z, id, n0, k0 + 4u, m01); }
    if (COL_GROUPS > 2u) { store_grad_block(z, id, n0, k0 + 8u, m02); store_grad_block(z, id, n0, k0 + 12u, m03); }
    if (ROW_GROUPS > 1u) {
        store_grad_block(z, id, n0 + 4u, k0, m10);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 4u, k0 + 4u, m11); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 4u, k0 + 8u, m12); store_grad_block(z, id, n0 + 4u, k0 + 12u, m13); }
    }
    if (ROW_GROUPS > 2u) {
        store_grad_block(z, id, n0 + 8u, k0, m20);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 8u, k0 + 4u, m21); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 8u, k0 + 8u, m22); store_grad_block(z, id, n0 + 8u, k0 + 12u, m23); }
        store_grad_block(z, id, n0 + 12u, k0, m30);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 12u, k0 + 4u, m31); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 12u, k0 + 8u, m32); store_grad_block(z, id, n0 + 12u, k0 + 12u, m33); }
    }
    if (ROW_GROUPS > 4u) {
        store_grad_block(z, id, n0 + 16u, k0, m40);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 16u, k0 + 4u, m41); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 16u, k0 + 8u, m42); store_grad_block(z, id, n0 + 16u, k0 + 12u, m43); }
        store_grad_block(z, id, n0 + 20u, k0, m50);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 20u, k0 + 4u, m51); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 20u, k0 + 8u, m52); store_grad_block(z, id, n0 + 20u, k0 + 12u, m53); }
        store_grad_block(z, id, n0 + 24u, k0, m60);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 24u, k0 + 4u, m61); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 24u, k0 + 8u, m62); store_grad_block(z, id, n0 + 24u, k0 + 12u, m63); }
        store_grad_block(z, id, n0 + 28u, k0, m70);
        if (COL_GROUPS > 1u) { store_grad_block(z, id, n0 + 28u, k0 + 4u, m71); }
        if (COL_GROUPS > 2u) { store_grad_block(z, id, n0 + 28u, k0 + 8u, m72); store_grad_block(z, id, n0 + 28u, k0 + 12u, m73); }
    }
}

// ---- 1-D passes --------------------------------------------------------------------------------

fn flat_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// The dense gradient [N, K] (binding 7, cleared) from the `splits` partial slices (binding 8):
// one invocation per element of a kept block.
@compute @workgroup_size(256)
fn bsr_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wg, nwg, li);
    if (i >= p.total) { return; }
    let id = i / (B * B);
    let e = i % (B * B);
    let n = block_row[id] * B + e / B;
    let k = inner_idx[id] * B + e % B;
    if (n >= p.ni || k >= p.nc) { return; }
    var s = 0.0;
    for (var z = 0u; z < p.splits; z++) { s += g[z * p.total + i]; }
    c[n * p.nc + k] = s;
}

// Both value arrays from the dense weights [N, K] (binding 1): refreshed after every change to
// the weights. Padding past N and K is never written (zeroed at build).
@compute @workgroup_size(256)
fn bsr_gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wg, nwg, li);
    if (i >= p.total) { return; }
    let n = i / p.nc;
    let k = i % p.nc;
    let id = block_map[(n / B) * p.block_cols + k / B];
    if (id == NONE) { return; }
    let nl = n % B;
    let kl = k % B;
    values_out[id * B * B + kl * B + nl] = a[i];
    values_t_out[col_pos[id] * B * B + nl * B + kl] = a[i];
}
