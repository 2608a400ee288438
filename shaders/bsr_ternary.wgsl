// Block-sparse products on ternary weights: a weight matrix W [N, K] stored as its kept B x B
// blocks (the structure of shaders/bsr.wgsl: row_ptr / col_idx by block row, col_ptr /
// row_idx by block column), each block's weights as 2-bit codes as in shaders/ternary.wgsl
// (00 is 0, 01 is +1, 11 is -1) with row n's values +scale_pos[n] and -scale_neg[n]: a pruned
// and ternarized layer in a sixteenth of the f32 values' memory.
//
//   codes [nnzb, B, WORDS]    row-order block j: at inner offset i (column k of W), the
//                             codes of its B rows n, 16 to a u32 (n % 16 at bits 2 (n % 16))
//   codes_t [nnzb, B, WORDS]  column-order entry e: at inner offset i (row n of W), the codes
//                             of its B columns k
//
// WORDS = ceil(B / 16); codes past N and K are 00. One kernel walks either list, as
// bsr_matmul does (which this kernel follows, with each step's weights decoded from one or
// two words instead of B loaded values):
//   codes, row_ptr, col_idx           y = x W^T     (forward; scales by output column)
//   codes_t, col_ptr, row_idx         dx = dy W     (input gradient, SCALE_INNER: by inner index)
//
// Layouts as the ternary kernels': x [M, K] or [K, M] (im2col columns), y [M, N] or [N, M].

// Block size: 4, 8, 16 or 32.
override B: u32 = 16u;
// Groups of four output columns per invocation: min(B, 32) / 4.
override COL_GROUPS: u32 = 4u;
// The activation operand is stored [inner, M]; the output [cols, M].
override TRANS_A: bool = false;
override TRANS_C: bool = false;
override LANES: u32 = 8u;
// Lanes along the column tiles too, when M is too short to fill a SIMD group.
override LANES_P: u32 = 1u;
// The inner length is a multiple of B.
override INNER_EVEN: bool = false;
// The output was cleared, so panels without blocks store nothing.
override SKIP_EMPTY: bool = false;
// The scales go with the inner index (the input gradient's walk) instead of the output column.
override SCALE_INNER: bool = false;


// Same layout as bsr.wgsl's parameters (m: rows; nc: output columns; ni: inner length; tiles:
// column tiles per panel; total: column tiles).
struct Params {
    m: u32, nc: u32, ni: u32, tiles: u32,
    n_blocks: u32, block_cols: u32, m_chunk: u32, splits: u32,
    total: u32, load_nc: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
// codes (forward) or codes_t (input gradient).
@group(0) @binding(2) var<storage, read> codes: array<u32>;
// row_ptr or col_ptr.
@group(0) @binding(3) var<storage, read> panel_ptr: array<u32>;
// col_idx or row_idx: the inner block of each entry.
@group(0) @binding(4) var<storage, read> inner_idx: array<u32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read> scale_pos: array<f32>;
@group(0) @binding(7) var<storage, read> scale_neg: array<f32>;

const SIGN = 0x80000000u;
const SHIFT_NZ = vec4<u32>(31u, 29u, 27u, 25u);
const SHIFT_NEG = vec4<u32>(30u, 28u, 26u, 24u);

// The four weights of codes `group` (byte `group` of the word): the code's scale (positive or
// negative one) where nonzero, its sign from the high bit; 0 where the code is 00.
fn weights4(word: u32, group: u32, sp: vec4<f32>, sn: vec4<f32>) -> vec4<f32> {
    let s = 8u * group;
    let nz = bitcast<vec4<u32>>(bitcast<vec4<i32>>(vec4<u32>(word) << (SHIFT_NZ - vec4<u32>(s))) >> vec4<u32>(31u));
    let neg = (vec4<u32>(word) << (SHIFT_NEG - vec4<u32>(s))) & vec4<u32>(SIGN);
    let mag = select(sp, sn, neg != vec4<u32>(0u));
    return bitcast<vec4<f32>>((bitcast<vec4<u32>>(mag) & nz) ^ neg);
}

// The scales of output columns col..col+3 (clamped: columns past nc are never stored).
fn col_scales4(neg: bool, col: u32) -> vec4<f32> {
    let l = p.nc - 1u;
    if (neg) { return vec4<f32>(scale_neg[min(col, l)], scale_neg[min(col + 1u, l)], scale_neg[min(col + 2u, l)], scale_neg[min(col + 3u, l)]); }
    return vec4<f32>(scale_pos[min(col, l)], scale_pos[min(col + 1u, l)], scale_pos[min(col + 2u, l)], scale_pos[min(col + 3u, l)]);
}

@compute @workgroup_size(LANES, LANES_P)
fn bsr_ternary_matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
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
    let words = (B + 15u) / 16u;
    // m{i}{j}: rows r + 4i.., columns col + 4j.. (named, not an array, to stay in registers).
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>(); var m04 = mat4x4<f32>(); var m05 = mat4x4<f32>(); var m06 = mat4x4<f32>(); var m07 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>(); var m14 = mat4x4<f32>(); var m15 = mat4x4<f32>(); var m16 = mat4x4<f32>(); var m17 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>(); var m24 = mat4x4<f32>(); var m25 = mat4x4<f32>(); var m26 = mat4x4<f32>(); var m27 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>(); var m34 = mat4x4<f32>(); var m35 = mat4x4<f32>(); var m36 = mat4x4<f32>(); var m37 = mat4x4<f32>();
    // The scales of the columns col + 4j.. (forward: by output column, once), or of the inner
    // index (input gradient: set at each step).
    var sp0 = vec4<f32>(); var sp1 = vec4<f32>(); var sp2 = vec4<f32>(); var sp3 = vec4<f32>();
    var sp4 = vec4<f32>(); var sp5 = vec4<f32>(); var sp6 = vec4<f32>(); var sp7 = vec4<f32>();
    var sn0 = vec4<f32>(); var sn1 = vec4<f32>(); var sn2 = vec4<f32>(); var sn3 = vec4<f32>();
    var sn4 = vec4<f32>(); var sn5 = vec4<f32>(); var sn6 = vec4<f32>(); var sn7 = vec4<f32>();
    if (!SCALE_INNER) {
        sp0 = col_scales4(false, col); sn0 = col_scales4(true, col);
        sp1 = col_scales4(false, col + 4u); sn1 = col_scales4(true, col + 4u);
        sp2 = col_scales4(false, col + 8u); sn2 = col_scales4(true, col + 8u);
        sp3 = col_scales4(false, col + 12u); sn3 = col_scales4(true, col + 12u);
        if (COL_GROUPS > 4u) {
            sp4 = col_scales4(false, col + 16u); sn4 = col_scales4(true, col + 16u);
            sp5 = col_scales4(false, col + 20u); sn5 = col_scales4(true, col + 20u);
            sp6 = col_scales4(false, col + 24u); sn6 = col_scales4(true, col + 24u);
            sp7 = col_scales4(false, col + 28u); sn7 = col_scales4(true, col + 28u);
        }
    }
    for (var e = lo; e < hi; e++) {
        let i0 = inner_idx[e] * B;
        let base = e * B * words;
        // The last inner block may overhang: stop at ni rather than read past it.
        var len = B;
        if (!INNER_EVEN) { len = min(B, p.ni - i0); }
        for (var i = 0u; i < len; i++) {
            let k = i0 + i;
            // The block's codes at inner offset i: columns cl.. in word cl / 16 (and the next).
            let wa = codes[base + i * words + cl / 16u];
            var wb = 0u;
            if (COL_GROUPS > 4u) { wb = codes[base + i * words + cl / 16u + 1u]; }
            if (SCALE_INNER) {
                let ki = min(k, p.ni - 1u);
                let sp = vec4<f32>(scale_pos[ki]);
                let sn = vec4<f32>(scale_neg[ki]);
                sp0 = sp; sp1 = sp; sp2 = sp; sp3 = sp; sp4 = sp; sp5 = sp; sp6 = sp; sp7 = sp;
                sn0 = sn; sn1 = sn; sn2 = sn; sn3 = sn; sn4 = sn; sn5 = sn; sn6 = sn; sn7 = sn;
            }
            let b0 = weights4(wa, 0u, sp0, sn0);
            var b1 = vec4<f32>(); var b2 = vec4<f32>(); var b3 = vec4<f32>();
            var b4 = vec4<f32>(); var b5 = vec4<f32>(); var b6 = vec4<f32>(); var b7 = vec4<f32>();
            if (COL_GROUPS > 1u) { b1 = weights4(wa, 1u, sp1, sn1); }
            if (COL_GROUPS > 2u) { b2 = weights4(wa, 2u, sp2, sn2); b3 = weights4(wa, 3u, sp3, sn3); }
            if (COL_GROUPS > 4u) {
                b4 = weights4(wb, 0u, sp4, sn4); b5 = weights4(wb, 1u, sp5, sn5);
                b6 = weights4(wb, 2u, sp6, sn6); b7 = weights4(wb, 3u, sp7, sn7);
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
