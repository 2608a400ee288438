// Block-sparse (BSR) products: a weight matrix W [N, K] (a linear layer's [out, in], or a
// convolution's [out, in * kh * kw]) stored as its nonzero B x B blocks, so that the work
// skips every zero block. See `aer::kernels::Bsr` for how the structure is built.
//
// Structure, block rows R = ceil(N / B), block columns Q = ceil(K / B):
//   row_ptr [R + 1], col_idx [nnzb], block_row [nnzb]   blocks row by row, columns ascending
//   col_ptr [Q + 1], row_idx [nnzb], col_block [nnzb]   the same blocks column by column
//                                                       (col_block: the block's row-order id)
//   block_map [R * Q]                                    row-order id of block (r, q), or NONE
//   values [nnzb, B, B]                                  block j, element (n, k) of the block at
//                                                       j * B * B + k * B + n (column-major, so
//                                                       the forward product loads four output
//                                                       columns at once); zero past N and K
//
// Three products, in the same layouts as the ternary kernels (x [M, K] or [K, M] for im2col
// columns; y [M, N] or [N, M] for a convolution's channel-major output):
//   bsr_matmul        y = x W^T           (forward)        panels = block rows of W
//   bsr_matmul, TRANS_W   dx = dy W       (input gradient) panels = block columns of W
//   bsr_weight_grad   dW = dy^T x on W's blocks only        then bsr_scatter into dense [N, K]
//
// Like matmul.wgsl's main_blocked, each invocation keeps a 32 x 16 block of the output in named
// registers (CPU adapters issue loads lane by lane, so reuse per load is what counts); smaller
// blocks shrink the column side to B. Lanes of a workgroup run along M and share one panel, so
// every lane walks the same list of blocks: uniform control flow and uniform weight loads.

// Block size: 4, 8, 16 or 32.
override B: u32 = 32u;
// Groups of four output columns per invocation: min(B, 16) / 4 (1, 2 or 4).
override COL_GROUPS: u32 = 4u;
// bsr_weight_grad: groups of four block rows per invocation: min(B, 32) / 4 (1, 2, 4 or 8).
override ROW_GROUPS: u32 = 8u;
// The activation operand is stored [inner, M] rather than [M, inner] (im2col columns).
override TRANS_A: bool = false;
// The output (bsr_matmul) or the output gradient (bsr_weight_grad) is stored [cols, M].
override TRANS_C: bool = false;
// bsr_matmul computes with W^T: panels are block columns, inner blocks are block rows.
override TRANS_W: bool = false;
override LANES: u32 = 8u;

// m: rows of the dense operands (batch rows or positions). nc: output columns (bsr_matmul;
// the dense gradient's K in bsr_weight_grad and bsr_scatter), ni: inner length (bsr_matmul;
// N in the others). tiles: column tiles per panel (bsr_matmul) or per block (weight grad).
struct Params {
    m: u32, nc: u32, ni: u32, tiles: u32,
    n_blocks: u32, block_cols: u32, m_chunk: u32, splits: u32,
    total: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// bsr_matmul: x (or dy when TRANS_W). bsr_weight_grad: x. bsr_gather: the dense weights.
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
// The same buffer as values, four at a time (forward loads).
@group(0) @binding(3) var<storage, read> values_vec4: array<vec4<f32>>;
// row_ptr or col_ptr.
@group(0) @binding(4) var<storage, read> panel_ptr: array<u32>;
// col_idx or row_idx (the inner block of each entry).
@group(0) @binding(5) var<storage, read> inner_idx: array<u32>;
// col_block (TRANS_W) or block_row (bsr_weight_grad).
@group(0) @binding(6) var<storage, read> block_ids: array<u32>;
@group(0) @binding(7) var<storage, read_write> c: array<f32>;
// bsr_weight_grad: dy. 
@group(0) @binding(8) var<storage, read> g: array<f32>;
// bsr_scatter, bsr_gather: the row-order id of each block, or NONE.
@group(0) @binding(9) var<storage, read> block_map: array<u32>;
@group(0) @binding(10) var<storage, read_write> values_out: array<f32>;

const NONE: u32 = 0xffffffffu;

// acc += outer(a, b): column q of the 4x4 block is output row q.
fn outer_acc(acc: mat4x4<f32>, av: vec4<f32>, bv: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(vec4<f32>(av.x), bv, acc[0]), fma(vec4<f32>(av.y), bv, acc[1]),
                       fma(vec4<f32>(av.z), bv, acc[2]), fma(vec4<f32>(av.w), bv, acc[3]));
}

// ---- bsr_matmul --------------------------------------------------------------------------------

// The activation at (row, inner); rows past M are clamped to a valid address (never stored).
fn load_a(row: u32, inner: u32) -> f32 {
    let r = min(row, p.m - 1u);
    if (TRANS_A) { return a[inner * p.m + r]; }
    return a[r * p.ni + inner];
}

fn load_a4(row: u32, inner: u32) -> vec4<f32> {
    return vec4<f32>(load_a(row, inner), load_a(row + 1u, inner), load_a(row + 2u, inner), load_a(row + 3u, inner));
}

// Four weights of block `base` at inner offset i and output columns cl..cl+3 (block-local).
fn load_w4(base: u32, i: u32, cl: u32) -> vec4<f32> {
    if (TRANS_W) {
        // Output columns are k, inner is n: element (i, cl + j) sits at (cl + j) * B + i.
        let e = base + cl * B + i;
        return vec4<f32>(values[e], values[e + B], values[e + 2u * B], values[e + 3u * B]);
    }
    // Output columns are n, inner is k: element (cl + j, i) sits at i * B + cl + j.
    return values_vec4[(base + i * B + cl) / 4u];
}

fn store_c(row: u32, col: u32, v: f32) {
    if (row >= p.m || col >= p.nc) { return; }
    if (TRANS_C) { c[col * p.m + row] = v; } else { c[row * p.nc + col] = v; }
}

fn store_row4(row: u32, col: u32, v: vec4<f32>) {
    store_c(row, col, v.x);
    store_c(row, col + 1u, v.y);
    store_c(row, col + 2u, v.z);
    store_c(row, col + 3u, v.w);
}

fn store_block(row: u32, col: u32, blk: mat4x4<f32>) {
    store_row4(row, col, blk[0]);
    store_row4(row + 1u, col, blk[1]);
    store_row4(row + 2u, col, blk[2]);
    store_row4(row + 3u, col, blk[3]);
}

// c[m, col] = sum over the panel's blocks and their inner indices of a[m, inner] * w(inner, col).
// Workgroup y is the column tile (panel * tiles + tile), x the rows; a panel without blocks
// writes zeros.
@compute @workgroup_size(LANES)
fn bsr_matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wg.x * LANES + lid.x) * 32u;
    let panel = wg.y / p.tiles;
    let cl = (wg.y % p.tiles) * (COL_GROUPS * 4u);
    let col = panel * B + cl;
    // m{i}{j}: rows r + 4i.., columns col + 4j.. (named, not an array, to stay in registers).
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>();
    var m40 = mat4x4<f32>(); var m41 = mat4x4<f32>(); var m42 = mat4x4<f32>(); var m43 = mat4x4<f32>();
    var m50 = mat4x4<f32>(); var m51 = mat4x4<f32>(); var m52 = mat4x4<f32>(); var m53 = mat4x4<f32>();
    var m60 = mat4x4<f32>(); var m61 = mat4x4<f32>(); var m62 = mat4x4<f32>(); var m63 = mat4x4<f32>();
    var m70 = mat4x4<f32>(); var m71 = mat4x4<f32>(); var m72 = mat4x4<f32>(); var m73 = mat4x4<f32>();
    let lo = panel_ptr[panel];
    let hi = panel_ptr[panel + 1u];
    for (var e = lo; e < hi; e++) {
        let i0 = inner_idx[e] * B;
        var id = e;
        if (TRANS_W) { id = block_ids[e]; }
        let base = id * B * B;
        // The last inner block may overhang: stop at ni rather than read past it.
        let len = min(B, p.ni - i0);
        for (var i = 0u; i < len; i++) {
            let k = i0 + i;
            let b0 = load_w4(base, i, cl);
            var b1 = vec4<f32>(); var b2 = vec4<f32>(); var b3 = vec4<f32>();
            if (COL_GROUPS > 1u) { b1 = load_w4(base, i, cl + 4u); }
            if (COL_GROUPS > 2u) { b2 = load_w4(base, i, cl + 8u); b3 = load_w4(base, i, cl + 12u); }
            let a0 = load_a4(r, k);
            m00 = outer_acc(m00, a0, b0);
            if (COL_GROUPS > 1u) { m01 = outer_acc(m01, a0, b1); }
            if (COL_GROUPS > 2u) { m02 = outer_acc(m02, a0, b2); m03 = outer_acc(m03, a0, b3); }
            let a1 = load_a4(r + 4u, k);
            m10 = outer_acc(m10, a1, b0);
            if (COL_GROUPS > 1u) { m11 = outer_acc(m11, a1, b1); }
            if (COL_GROUPS > 2u) { m12 = outer_acc(m12, a1, b2); m13 = outer_acc(m13, a1, b3); }
            let a2 = load_a4(r + 8u, k);
            m20 = outer_acc(m20, a2, b0);
            if (COL_GROUPS > 1u) { m21 = outer_acc(m21, a2, b1); }
            if (COL_GROUPS > 2u) { m22 = outer_acc(m22, a2, b2); m23 = outer_acc(m23, a2, b3); }
            let a3 = load_a4(r + 12u, k);
            m30 = outer_acc(m30, a3, b0);
            if (COL_GROUPS > 1u) { m31 = outer_acc(m31, a3, b1); }
            if (COL_GROUPS > 2u) { m32 = outer_acc(m32, a3, b2); m33 = outer_acc(m33, a3, b3); }
            let a4 = load_a4(r + 16u, k);
            m40 = outer_acc(m40, a4, b0);
            if (COL_GROUPS > 1u) { m41 = outer_acc(m41, a4, b1); }
            if (COL_GROUPS > 2u) { m42 = outer_acc(m42, a4, b2); m43 = outer_acc(m43, a4, b3); }
            let a5 = load_a4(r + 20u, k);
            m50 = outer_acc(m50, a5, b0);
            if (COL_GROUPS > 1u) { m51 = outer_acc(m51, a5, b1); }
            if (COL_GROUPS > 2u) { m52 = outer_acc(m52, a5, b2); m53 = outer_acc(m53, a5, b3); }
            let a6 = load_a4(r + 24u, k);
            m60 = outer_acc(m60, a6, b0);
            if (COL_GROUPS > 1u) { m61 = outer_acc(m61, a6, b1); }
            if (COL_GROUPS > 2u) { m62 = outer_acc(m62, a6, b2); m63 = outer_acc(m63, a6, b3); }
            let a7 = load_a4(r + 28u, k);
            m70 = outer_acc(m70, a7, b0);
            if (COL_GROUPS > 1u) { m71 = outer_acc(m71, a7, b1); }
            if (COL_GROUPS > 2u) { m72 = outer_acc(m72, a7, b2); m73 = outer_acc(m73, a7, b3); }
        }
    }
    if (r >= p.m) { return; }
    store_block(r, col, m00); store_block(r + 4u, col, m10); store_block(r + 8u, col, m20); store_block(r + 12u, col, m30);
    store_block(r + 16u, col, m40); store_block(r + 20u, col, m50); store_block(r + 24u, col, m60); store_block(r + 28u, col, m70);
    if (COL_GROUPS > 1u) {
        let c1 = col + 4u;
        store_block(r, c1, m01); store_block(r + 4u, c1, m11); store_block(r + 8u, c1, m21); store_block(r + 12u, c1, m31);
        store_block(r + 16u, c1, m41); store_block(r + 20u, c1, m51); store_block(r + 24u, c1, m61); store_block(r + 28u, c1, m71);
    }
    if (COL_GROUPS > 2u) {
        let c2 = col + 8u;
        let c3 = col + 12u;
        store_block(r, c2, m02); store_block(r + 4u, c2, m12); store_block(r + 8u, c2, m22); store_block(r + 12u, c2, m32);
        store_block(r + 16u, c2, m42); store_block(r + 20u, c2, m52); store_block(r + 24u, c2, m62); store_block(r + 28u, c2, m72);
        store_block(r, c3, m03); store_block(r + 4u, c3, m13); store_block(r + 8u, c3, m23); store_block(r + 12u, c3, m33);
        store_block(r + 16u, c3, m43); store_block(r + 20u, c3, m53); store_block(r + 24u, c3, m63); store_block(r + 28u, c3, m73);
    }
}

// ---- bsr_weight_grad ---------------------------------------------------------------------------

// dy at (row m, output n), clamped to valid addresses: rows n past N only fill padding.
fn load_g(m: u32, n: u32) -> f32 {
    let nn = min(n, p.ni - 1u);
    if (TRANS_C) { return g[nn * p.m + m]; }
    return g[m * p.ni + nn];
}

fn load_x(m: u32, k: u32) -> f32 {
    let kk = min(k, p.nc - 1u);
    if (TRANS_A) { return a[kk * p.m + m]; }
    return a[m * p.nc + kk];
}

fn load_g4(m: u32, n: u32) -> vec4<f32> {
    return vec4<f32>(load_g(m, n), load_g(m, n + 1u), load_g(m, n + 2u), load_g(m, n + 3u));
}

fn load_x4(m: u32, k: u32) -> vec4<f32> {
    return vec4<f32>(load_x(m, k), load_x(m, k + 1u), load_x(m, k + 2u), load_x(m, k + 3u));
}

// Rows n0 + q (q < 4) of one 4x4 accumulator into block `id`'s gradient slice z (layout as
// values: element (n, k) at k * B + n).
fn store_grad4(z: u32, id: u32, nl: u32, kl: u32, blk: mat4x4<f32>) {
    let base = (z * p.n_blocks + id) * B * B;
    for (var q = 0u; q < 4u; q++) {
        for (var e = 0u; e < 4u; e++) {
            c[base + (kl + e) * B + nl + q] = blk[q][e];
        }
    }
}

// dW on block j: sum over m of dy[m, n] x[m, k] for the block's n and k, over slice z of m
// (workgroup y). Each invocation covers ROW_GROUPS * 4 rows and COL_GROUPS * 4 columns of one
// block; `tiles` of them make a block.
@compute @workgroup_size(LANES)
fn bsr_weight_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = wg.x * LANES + lid.x;
    let in_range = t < p.n_blocks * p.tiles;
    let id = min(t / p.tiles, p.n_blocks - 1u);
    let tile = t % p.tiles;
    let col_tiles = B / (COL_GROUPS * 4u);
    let nl = (tile / col_tiles) * (ROW_GROUPS * 4u);
    let kl = (tile % col_tiles) * (COL_GROUPS * 4u);
    let n0 = block_ids[id] * B + nl;
    let k0 = inner_idx[id] * B + kl;
    let m_lo = wg.y * p.m_chunk;
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
        let x0 = load_x4(m, k0);
        var x1 = vec4<f32>(); var x2 = vec4<f32>(); var x3 = vec4<f32>();
        if (COL_GROUPS > 1u) { x1 = load_x4(m, k0 + 4u); }
        if (COL_GROUPS > 2u) { x2 = load_x4(m, k0 + 8u); x3 = load_x4(m, k0 + 12u); }
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
    let z = wg.y;
    store_grad4(z, id, nl, kl, m00);
    if (COL_GROUPS > 1u) { store_grad4(z, id, nl, kl + 4u, m01); }
    if (COL_GROUPS > 2u) { store_grad4(z, id, nl, kl + 8u, m02); store_grad4(z, id, nl, kl + 12u, m03); }
    if (ROW_GROUPS > 1u) {
        store_grad4(z, id, nl + 4u, kl, m10);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 4u, kl + 4u, m11); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 4u, kl + 8u, m12); store_grad4(z, id, nl + 4u, kl + 12u, m13); }
    }
    if (ROW_GROUPS > 2u) {
        store_grad4(z, id, nl + 8u, kl, m20);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 8u, kl + 4u, m21); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 8u, kl + 8u, m22); store_grad4(z, id, nl + 8u, kl + 12u, m23); }
        store_grad4(z, id, nl + 12u, kl, m30);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 12u, kl + 4u, m31); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 12u, kl + 8u, m32); store_grad4(z, id, nl + 12u, kl + 12u, m33); }
    }
    if (ROW_GROUPS > 4u) {
        store_grad4(z, id, nl + 16u, kl, m40);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 16u, kl + 4u, m41); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 16u, kl + 8u, m42); store_grad4(z, id, nl + 16u, kl + 12u, m43); }
        store_grad4(z, id, nl + 20u, kl, m50);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 20u, kl + 4u, m51); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 20u, kl + 8u, m52); store_grad4(z, id, nl + 20u, kl + 12u, m53); }
        store_grad4(z, id, nl + 24u, kl, m60);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 24u, kl + 4u, m61); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 24u, kl + 8u, m62); store_grad4(z, id, nl + 24u, kl + 12u, m63); }
        store_grad4(z, id, nl + 28u, kl, m70);
        if (COL_GROUPS > 1u) { store_grad4(z, id, nl + 28u, kl + 4u, m71); }
        if (COL_GROUPS > 2u) { store_grad4(z, id, nl + 28u, kl + 8u, m72); store_grad4(z, id, nl + 28u, kl + 12u, m73); }
    }
}

// ---- dense <-> blocks --------------------------------------------------------------------------

fn flat_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// The dense gradient [N, K] (binding 7) from the block gradients' `splits` slices (binding 8):
// their sum inside W's blocks, zero outside, so pruned weights get no gradient.
@compute @workgroup_size(256)
fn bsr_scatter(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wg, nwg, li);
    if (i >= p.total) { return; }
    let n = i / p.nc;
    let k = i % p.nc;
    let id = block_map[(n / B) * p.block_cols + k / B];
    var s = 0.0;
    if (id != NONE) {
        let e = id * B * B + (k % B) * B + n % B;
        for (var z = 0u; z < p.splits; z++) { s += g[z * p.n_blocks * B * B + e]; }
    }
    c[i] = s;
}

// The blocks' values (binding 10) from the dense weights [N, K] (binding 1): refreshed after
// every change to the weights. Padding past N and K is never written (zeroed at build).
@compute @workgroup_size(256)
fn bsr_gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wg, nwg, li);
    if (i >= p.total) { return; }
    let n = i / p.nc;
    let k = i % p.nc;
    let id = block_map[(n / B) * p.block_cols + k / B];
    if (id != NONE) {
        values_out[id * B * B + (k % B) * B + n % B] = a[i];
    }
}
