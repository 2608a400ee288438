// Dense matrix product C = op(A) * op(B), the workhorse of linear and conv layers.
//   op(A) is [M, K]: A is stored [M, K], or [K, M] when TRANS_A.
//   op(B) is [K, N]: B is stored [K, N], or [N, K] when TRANS_B.
// The transposed forms are what backward passes need (dX = dY W, dW = dY^T X) without
// materialising a transpose.
//
// Split-K: workgroup z covers k in [z * k_chunk, (z + 1) * k_chunk) and writes its partial
// product at offset z * M * N; `reduce_splits` then sums the slices into C. Long, thin
// products (weight gradients: K = batch x positions) keep every core busy this way.
//
// Two kernels compute the same thing:
//   main          tiled through workgroup memory, 64x64 per workgroup, 4x4 per invocation: GPUs.
//   main_blocked  for CPU adapters (lavapipe, SwiftShader), where a workgroup runs as SIMD
//                 lanes on one core, every load is issued lane by lane, and barriers are
//                 costly; each invocation instead keeps a 16x16 block of C in registers, so
//                 each step of k does 32 loads for 256 multiply-adds, with no shared memory.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Add into C instead of overwriting it (gradient accumulation).
override ACCUMULATE: bool = false;
// Lane grid of main_blocked (LANES_X * LANES_Y <= 256), shaped to the matrix by the launcher.
override LANES_X: u32 = 8u;
override LANES_Y: u32 = 8u;

struct Params { m: u32, n: u32, k: u32, k_chunk: u32, splits: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
// reduce_splits: the per-split partial products, [splits, M, N].
@group(0) @binding(4) var<storage, read> partial: array<f32>;

fn load_a(m: u32, k: u32) -> f32 {
    if (TRANS_A) { return a[k * p.m + m]; }
    return a[m * p.k + k];
}

fn load_b(k: u32, n: u32) -> f32 {
    if (TRANS_B) { return b[n * p.k + k]; }
    return b[k * p.n + n];
}

fn k_range(z: u32) -> vec2<u32> {
    let k0 = z * p.k_chunk;
    return vec2<u32>(k0, min(k0 + p.k_chunk, p.k));
}

fn store(row: u32, col: u32, z: u32, v: f32) {
    let idx = row * p.n + col;
    if (p.splits > 1u) {
        c[z * p.m * p.n + idx] = v;
    } else if (ACCUMULATE) {
        c[idx] += v;
    } else {
        c[idx] = v;
    }
}

// ---- GPU kernel ------------------------------------------------------------------------------

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

var<workgroup> tile_a: array<f32, 1024>; // [BK][BM]
var<workgroup> tile_b: array<f32, 1024>; // [BK][BN]

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let row0 = wg.y * BM;
    let col0 = wg.x * BN;
    let kr = k_range(wg.z);
    var acc: array<vec4<f32>, 4>;
    for (var k0 = kr.x; k0 < kr.y; k0 += BK) {
        // 1024 elements per tile, 4 per invocation; consecutive invocations read
        // consecutive addresses in whichever layout the operand is stored.
        for (var i = 0u; i < 4u; i++) {
            let e = li + i * 256u;
            var am = e / BK;
            var ak = e % BK;
            if (TRANS_A) { am = e % BM; ak = e / BM; }
            var va = 0.0;
            if (row0 + am < p.m && k0 + ak < kr.y) { va = load_a(row0 + am, k0 + ak); }
            tile_a[ak * BM + am] = va;
            var bk = e / BN;
            var bn = e % BN;
            if (TRANS_B) { bk = e % BK; bn = e / BK; }
            var vb = 0.0;
            if (k0 + bk < kr.y && col0 + bn < p.n) { vb = load_b(k0 + bk, col0 + bn); }
            tile_b[bk * BN + bn] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let ao = kk * BM + lid.y * 4u;
            let bo = kk * BN + lid.x * 4u;
            let bv = vec4<f32>(tile_b[bo], tile_b[bo + 1u], tile_b[bo + 2u], tile_b[bo + 3u]);
            acc[0] = fma(vec4<f32>(tile_a[ao]), bv, acc[0]);
            acc[1] = fma(vec4<f32>(tile_a[ao + 1u]), bv, acc[1]);
            acc[2] = fma(vec4<f32>(tile_a[ao + 2u]), bv, acc[2]);
            acc[3] = fma(vec4<f32>(tile_a[ao + 3u]), bv, acc[3]);
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y * 4u + i;
        if (r >= p.m) { break; }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x * 4u + j;
            if (col < p.n) { store(r, col, wg.z, acc[i][j]); }
        }
    }
}

// ---- CPU-adapter kernel --------------------------------------------------------------------

// Rows and columns past the edge are clamped to valid addresses (never stored), so the inner
// loop has no branches.
fn a4(r: u32, k: u32) -> vec4<f32> {
    let last = p.m - 1u;
    return vec4<f32>(load_a(min(r, last), k), load_a(min(r + 1u, last), k),
                     load_a(min(r + 2u, last), k), load_a(min(r + 3u, last), k));
}

fn b4(k: u32, col: u32) -> vec4<f32> {
    let last = p.n - 1u;
    return vec4<f32>(load_b(k, min(col, last)), load_b(k, min(col + 1u, last)),
                     load_b(k, min(col + 2u, last)), load_b(k, min(col + 3u, last)));
}

// acc += outer(a, b): column q of the 4x4 block is row q of C.
fn outer_acc(acc: mat4x4<f32>, av: vec4<f32>, bv: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(vec4<f32>(av.x), bv, acc[0]), fma(vec4<f32>(av.y), bv, acc[1]),
                       fma(vec4<f32>(av.z), bv, acc[2]), fma(vec4<f32>(av.w), bv, acc[3]));
}

fn store_block(row: u32, col: u32, z: u32, blk: mat4x4<f32>) {
    for (var q = 0u; q < 4u; q++) {
        if (row + q >= p.m) { return; }
        for (var t = 0u; t < 4u; t++) {
            if (col + t < p.n) { store(row + q, col + t, z, blk[q][t]); }
        }
    }
}

@compute @workgroup_size(LANES_X, LANES_Y)
fn main_blocked(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wg.y * LANES_Y + lid.y) * 16u;
    let col = (wg.x * LANES_X + lid.x) * 16u;
    let kr = k_range(wg.z);
    // 16x16 block of C: m{i}{j} holds rows r+4i.., columns col+4j...
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>();
    for (var k = kr.x; k < kr.y; k++) {
        let a0 = a4(r, k);
        let a1 = a4(r + 4u, k);
        let a2 = a4(r + 8u, k);
        let a3 = a4(r + 12u, k);
        let b0 = b4(k, col);
        let b1 = b4(k, col + 4u);
        let b2 = b4(k, col + 8u);
        let b3 = b4(k, col + 12u);
        m00 = outer_acc(m00, a0, b0); m01 = outer_acc(m01, a0, b1); m02 = outer_acc(m02, a0, b2); m03 = outer_acc(m03, a0, b3);
        m10 = outer_acc(m10, a1, b0); m11 = outer_acc(m11, a1, b1); m12 = outer_acc(m12, a1, b2); m13 = outer_acc(m13, a1, b3);
        m20 = outer_acc(m20, a2, b0); m21 = outer_acc(m21, a2, b1); m22 = outer_acc(m22, a2, b2); m23 = outer_acc(m23, a2, b3);
        m30 = outer_acc(m30, a3, b0); m31 = outer_acc(m31, a3, b1); m32 = outer_acc(m32, a3, b2); m33 = outer_acc(m33, a3, b3);
    }
    if (r >= p.m || col >= p.n) { return; }
    store_block(r, col, wg.z, m00); store_block(r, col + 4u, wg.z, m01);
    store_block(r, col + 8u, wg.z, m02); store_block(r, col + 12u, wg.z, m03);
    store_block(r + 4u, col, wg.z, m10); store_block(r + 4u, col + 4u, wg.z, m11);
    store_block(r + 4u, col + 8u, wg.z, m12); store_block(r + 4u, col + 12u, wg.z, m13);
    store_block(r + 8u, col, wg.z, m20); store_block(r + 8u, col + 4u, wg.z, m21);
    store_block(r + 8u, col + 8u, wg.z, m22); store_block(r + 8u, col + 12u, wg.z, m23);
    store_block(r + 12u, col, wg.z, m30); store_block(r + 12u, col + 4u, wg.z, m31);
    store_block(r + 12u, col + 8u, wg.z, m32); store_block(r + 12u, col + 12u, wg.z, m33);
}

// ---- split-K reduction -------------------------------------------------------------------------

@compute @workgroup_size(256)
fn reduce_splits(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    let mn = p.m * p.n;
    if (i >= mn) { return; }
    var s = 0.0;
    for (var z = 0u; z < p.splits; z++) { s += partial[z * mn + i]; }
    if (ACCUMULATE) { s += c[i]; }
    c[i] = s;
}
