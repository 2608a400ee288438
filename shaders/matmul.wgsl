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
//                 costly; each invocation instead keeps a 32x16 block of C in registers, so
//                 each step of k does 48 loads for 512 multiply-adds, with no shared memory.
//   main_wide     main_blocked with a 32x32 block: 64 loads for 1024 multiply-adds.
// and, on CPU adapters, main_dot for A * B^T with a small output over a long k (below).
//
// What bounds the CPU kernels is loads: llvmpipe (Mesa 22) issues each component of each load
// lane by lane, inside a loop even where the address is the same for every lane, and a vec4
// load costs four (measured: main_blocked with vec4 loads of A and B ran at the speed of the
// scalar one). A kernel that kept A uniform across the SIMD group and only 12 accumulators per
// lane (no spills) ran 10x slower than main_blocked: multiply-adds and spills are cheap next to
// loads. So a lane's cost is its block's loads per step of k, whether or not the block lies
// inside the matrix, and the launcher picks the block and lane grid that launch the fewest
// loads (a 300 x 784 weight gradient in 8x8-lane groups of 32x16 blocks computed 512 rows for
// 300; in 8x1 groups, 320: 56 against 96 ms).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
// Add into C instead of overwriting it (gradient accumulation).
override ACCUMULATE: bool = false;
// Lane grid of main_blocked (LANES_X * LANES_Y * LANES_Z <= 256), shaped to the matrix by the
// launcher. LANES_Z lanes take different slices of k (split z = wg.z * LANES_Z + lane z): an
// output too small to give every lane of a SIMD group its own block (a 16 x 25 weight gradient
// over 100,352 positions) keeps them busy this way.
override LANES_X: u32 = 8u;
override LANES_Y: u32 = 8u;
override LANES_Z: u32 = 1u;

struct Params { m: u32, n: u32, k: u32, k_chunk: u32, splits: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
// reduce_splits: the per-split partial products, [splits, M, N].
@group(0) @binding(4) var<storage, read> partial: array<f32>;
// matvec with K a multiple of 4 (VEC4): a and b viewed as vec4, one load for four values.
@group(0) @binding(5) var<storage, read> a_vec4: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> b_vec4: array<vec4<f32>>;
override VEC4: bool = false;

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

// Split z writes its slice at z * M * N (z = 0 without split-K). When splitting, the launcher
// compiles the product without ACCUMULATE and gives the flag to reduce_splits instead.
fn store(row: u32, col: u32, z: u32, v: f32) {
    let idx = z * p.m * p.n + row * p.n + col;
    if (ACCUMULATE) {
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
fn load_a4(r: u32, k: u32) -> vec4<f32> {
    let last = p.m - 1u;
    return vec4<f32>(load_a(min(r, last), k), load_a(min(r + 1u, last), k),
                     load_a(min(r + 2u, last), k), load_a(min(r + 3u, last), k));
}

fn load_b4(k: u32, col: u32) -> vec4<f32> {
    let last = p.n - 1u;
    return vec4<f32>(load_b(k, min(col, last)), load_b(k, min(col + 1u, last)),
                     load_b(k, min(col + 2u, last)), load_b(k, min(col + 3u, last)));
}

// outer_acc (acc += outer(a, b), column q of the 4x4 block is row q of C): shaders/common/outer_acc.wgsl.

// Written out with no loops, no dynamic indices and no branch but the bounds check: an earlier
// version with those made llvmpipe spill the block to scratch memory, allocated (and kept)
// per dispatch.
fn store_checked(row: u32, col: u32, z: u32, v: f32) {
    if (row < p.m && col < p.n) { store(row, col, z, v); }
}

fn store_row(row: u32, col: u32, z: u32, v: vec4<f32>) {
    store_checked(row, col, z, v.x);
    store_checked(row, col + 1u, z, v.y);
    store_checked(row, col + 2u, z, v.z);
    store_checked(row, col + 3u, z, v.w);
}

fn store_block(row: u32, col: u32, z: u32, blk: mat4x4<f32>) {
    store_row(row, col, z, blk[0]);
    store_row(row + 1u, col, z, blk[1]);
    store_row(row + 2u, col, z, blk[2]);
    store_row(row + 3u, col, z, blk[3]);
}

@compute @workgroup_size(LANES_X, LANES_Y, LANES_Z)
fn main_blocked(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wg.y * LANES_Y + lid.y) * 32u;
    let col = (wg.x * LANES_X + lid.x) * 16u;
    let z = wg.z * LANES_Z + lid.z;
    let kr = k_range(z);
    // The 32x16 block of C at (r, col): m{i}{j} holds rows r+4i.. and columns col+4j.. .
    // Named variables, not an array: an indexed array would live in memory, not registers.
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>();
    var m40 = mat4x4<f32>(); var m41 = mat4x4<f32>(); var m42 = mat4x4<f32>(); var m43 = mat4x4<f32>();
    var m50 = mat4x4<f32>(); var m51 = mat4x4<f32>(); var m52 = mat4x4<f32>(); var m53 = mat4x4<f32>();
    var m60 = mat4x4<f32>(); var m61 = mat4x4<f32>(); var m62 = mat4x4<f32>(); var m63 = mat4x4<f32>();
    var m70 = mat4x4<f32>(); var m71 = mat4x4<f32>(); var m72 = mat4x4<f32>(); var m73 = mat4x4<f32>();
    for (var k = kr.x; k < kr.y; k++) {
        let b0 = load_b4(k, col);
        let b1 = load_b4(k, col + 4u);
        let b2 = load_b4(k, col + 8u);
        let b3 = load_b4(k, col + 12u);
        let a0 = load_a4(r + 0u, k);
        m00 = outer_acc(m00, a0, b0); m01 = outer_acc(m01, a0, b1); m02 = outer_acc(m02, a0, b2); m03 = outer_acc(m03, a0, b3);
        let a1 = load_a4(r + 4u, k);
        m10 = outer_acc(m10, a1, b0); m11 = outer_acc(m11, a1, b1); m12 = outer_acc(m12, a1, b2); m13 = outer_acc(m13, a1, b3);
        let a2 = load_a4(r + 8u, k);
        m20 = outer_acc(m20, a2, b0); m21 = outer_acc(m21, a2, b1); m22 = outer_acc(m22, a2, b2); m23 = outer_acc(m23, a2, b3);
        let a3 = load_a4(r + 12u, k);
        m30 = outer_acc(m30, a3, b0); m31 = outer_acc(m31, a3, b1); m32 = outer_acc(m32, a3, b2); m33 = outer_acc(m33, a3, b3);
        let a4 = load_a4(r + 16u, k);
        m40 = outer_acc(m40, a4, b0); m41 = outer_acc(m41, a4, b1); m42 = outer_acc(m42, a4, b2); m43 = outer_acc(m43, a4, b3);
        let a5 = load_a4(r + 20u, k);
        m50 = outer_acc(m50, a5, b0); m51 = outer_acc(m51, a5, b1); m52 = outer_acc(m52, a5, b2); m53 = outer_acc(m53, a5, b3);
        let a6 = load_a4(r + 24u, k);
        m60 = outer_acc(m60, a6, b0); m61 = outer_acc(m61, a6, b1); m62 = outer_acc(m62, a6, b2); m63 = outer_acc(m63, a6, b3);
        let a7 = load_a4(r + 28u, k);
        m70 = outer_acc(m70, a7, b0); m71 = outer_acc(m71, a7, b1); m72 = outer_acc(m72, a7, b2); m73 = outer_acc(m73, a7, b3);
    }
    if (r >= p.m || col >= p.n || z >= p.splits) { return; }
    store_block(r, col, z, m00); store_block(r, col + 4u, z, m01); store_block(r, col + 8u, z, m02); store_block(r, col + 12u, z, m03);
    store_block(r + 4u, col, z, m10); store_block(r + 4u, col + 4u, z, m11); store_block(r + 4u, col + 8u, z, m12); store_block(r + 4u, col + 12u, z, m13);
    store_block(r + 8u, col, z, m20); store_block(r + 8u, col + 4u, z, m21); store_block(r + 8u, col + 8u, z, m22); store_block(r + 8u, col + 12u, z, m23);
    store_block(r + 12u, col, z, m30); store_block(r + 12u, col + 4u, z, m31); store_block(r + 12u, col + 8u, z, m32); store_block(r + 12u, col + 12u, z, m33);
    store_block(r + 16u, col, z, m40); store_block(r + 16u, col + 4u, z, m41); store_block(r + 16u, col + 8u, z, m42); store_block(r + 16u, col + 12u, z, m43);
    store_block(r + 20u, col, z, m50); store_block(r + 20u, col + 4u, z, m51); store_block(r + 20u, col + 8u, z, m52); store_block(r + 20u, col + 12u, z, m53);
    store_block(r + 24u, col, z, m60); store_block(r + 24u, col + 4u, z, m61); store_block(r + 24u, col + 8u, z, m62); store_block(r + 24u, col + 12u, z, m63);
    store_block(r + 28u, col, z, m70); store_block(r + 28u, col + 4u, z, m71); store_block(r + 28u, col + 8u, z, m72); store_block(r + 28u, col + 12u, z, m73);
}

// main_blocked with a 32x32 block: 64 loads feed 1024 multiply-adds per step of k, against
// 48 for 512. llvmpipe (Mesa 22) issues every load lane by lane, a uniform one too inside a
// loop, so loads, not multiply-adds, bound these kernels: where the matrix fills whole 32x32
// blocks this one is faster (1024^3: 1.04 against 1.66 s on a loaded lavapipe), the spills of
// its larger block notwithstanding. The launcher weighs the two by loads per output (see
// `cpu_layout` in src/kernels/matmul.rs).
@compute @workgroup_size(LANES_X, LANES_Y, LANES_Z)
fn main_wide(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = (wg.y * LANES_Y + lid.y) * 32u;
    let col = (wg.x * LANES_X + lid.x) * 32u;
    let z = wg.z * LANES_Z + lid.z;
    let kr = k_range(z);
    var m00 = mat4x4<f32>(); var m01 = mat4x4<f32>(); var m02 = mat4x4<f32>(); var m03 = mat4x4<f32>(); var m04 = mat4x4<f32>(); var m05 = mat4x4<f32>(); var m06 = mat4x4<f32>(); var m07 = mat4x4<f32>();
    var m10 = mat4x4<f32>(); var m11 = mat4x4<f32>(); var m12 = mat4x4<f32>(); var m13 = mat4x4<f32>(); var m14 = mat4x4<f32>(); var m15 = mat4x4<f32>(); var m16 = mat4x4<f32>(); var m17 = mat4x4<f32>();
    var m20 = mat4x4<f32>(); var m21 = mat4x4<f32>(); var m22 = mat4x4<f32>(); var m23 = mat4x4<f32>(); var m24 = mat4x4<f32>(); var m25 = mat4x4<f32>(); var m26 = mat4x4<f32>(); var m27 = mat4x4<f32>();
    var m30 = mat4x4<f32>(); var m31 = mat4x4<f32>(); var m32 = mat4x4<f32>(); var m33 = mat4x4<f32>(); var m34 = mat4x4<f32>(); var m35 = mat4x4<f32>(); var m36 = mat4x4<f32>(); var m37 = mat4x4<f32>();
    var m40 = mat4x4<f32>(); var m41 = mat4x4<f32>(); var m42 = mat4x4<f32>(); var m43 = mat4x4<f32>(); var m44 = mat4x4<f32>(); var m45 = mat4x4<f32>(); var m46 = mat4x4<f32>(); var m47 = mat4x4<f32>();
    var m50 = mat4x4<f32>(); var m51 = mat4x4<f32>(); var m52 = mat4x4<f32>(); var m53 = mat4x4<f32>(); var m54 = mat4x4<f32>(); var m55 = mat4x4<f32>(); var m56 = mat4x4<f32>(); var m57 = mat4x4<f32>();
    var m60 = mat4x4<f32>(); var m61 = mat4x4<f32>(); var m62 = mat4x4<f32>(); var m63 = mat4x4<f32>(); var m64 = mat4x4<f32>(); var m65 = mat4x4<f32>(); var m66 = mat4x4<f32>(); var m67 = mat4x4<f32>();
    var m70 = mat4x4<f32>(); var m71 = mat4x4<f32>(); var m72 = mat4x4<f32>(); var m73 = mat4x4<f32>(); var m74 = mat4x4<f32>(); var m75 = mat4x4<f32>(); var m76 = mat4x4<f32>(); var m77 = mat4x4<f32>();
    for (var k = kr.x; k < kr.y; k++) {
        let b0 = load_b4(k, col + 0u);
        let b1 = load_b4(k, col + 4u);
        let b2 = load_b4(k, col + 8u);
        let b3 = load_b4(k, col + 12u);
        let b4 = load_b4(k, col + 16u);
        let b5 = load_b4(k, col + 20u);
        let b6 = load_b4(k, col + 24u);
        let b7 = load_b4(k, col + 28u);
        let a0 = load_a4(r + 0u, k);
        m00 = outer_acc(m00, a0, b0); m01 = outer_acc(m01, a0, b1); m02 = outer_acc(m02, a0, b2); m03 = outer_acc(m03, a0, b3); m04 = outer_acc(m04, a0, b4); m05 = outer_acc(m05, a0, b5); m06 = outer_acc(m06, a0, b6); m07 = outer_acc(m07, a0, b7);
        let a1 = load_a4(r + 4u, k);
        m10 = outer_acc(m10, a1, b0); m11 = outer_acc(m11, a1, b1); m12 = outer_acc(m12, a1, b2); m13 = outer_acc(m13, a1, b3); m14 = outer_acc(m14, a1, b4); m15 = outer_acc(m15, a1, b5); m16 = outer_acc(m16, a1, b6); m17 = outer_acc(m17, a1, b7);
        let a2 = load_a4(r + 8u, k);
        m20 = outer_acc(m20, a2, b0); m21 = outer_acc(m21, a2, b1); m22 = outer_acc(m22, a2, b2); m23 = outer_acc(m23, a2, b3); m24 = outer_acc(m24, a2, b4); m25 = outer_acc(m25, a2, b5); m26 = outer_acc(m26, a2, b6); m27 = outer_acc(m27, a2, b7);
        let a3 = load_a4(r + 12u, k);
        m30 = outer_acc(m30, a3, b0); m31 = outer_acc(m31, a3, b1); m32 = outer_acc(m32, a3, b2); m33 = outer_acc(m33, a3, b3); m34 = outer_acc(m34, a3, b4); m35 = outer_acc(m35, a3, b5); m36 = outer_acc(m36, a3, b6); m37 = outer_acc(m37, a3, b7);
        let a4 = load_a4(r + 16u, k);
        m40 = outer_acc(m40, a4, b0); m41 = outer_acc(m41, a4, b1); m42 = outer_acc(m42, a4, b2); m43 = outer_acc(m43, a4, b3); m44 = outer_acc(m44, a4, b4); m45 = outer_acc(m45, a4, b5); m46 = outer_acc(m46, a4, b6); m47 = outer_acc(m47, a4, b7);
        let a5 = load_a4(r + 20u, k);
        m50 = outer_acc(m50, a5, b0); m51 = outer_acc(m51, a5, b1); m52 = outer_acc(m52, a5, b2); m53 = outer_acc(m53, a5, b3); m54 = outer_acc(m54, a5, b4); m55 = outer_acc(m55, a5, b5); m56 = outer_acc(m56, a5, b6); m57 = outer_acc(m57, a5, b7);
        let a6 = load_a4(r + 24u, k);
        m60 = outer_acc(m60, a6, b0); m61 = outer_acc(m61, a6, b1); m62 = outer_acc(m62, a6, b2); m63 = outer_acc(m63, a6, b3); m64 = outer_acc(m64, a6, b4); m65 = outer_acc(m65, a6, b5); m66 = outer_acc(m66, a6, b6); m67 = outer_acc(m67, a6, b7);
        let a7 = load_a4(r + 28u, k);
        m70 = outer_acc(m70, a7, b0); m71 = outer_acc(m71, a7, b1); m72 = outer_acc(m72, a7, b2); m73 = outer_acc(m73, a7, b3); m74 = outer_acc(m74, a7, b4); m75 = outer_acc(m75, a7, b5); m76 = outer_acc(m76, a7, b6); m77 = outer_acc(m77, a7, b7);
    }
    if (r >= p.m || col >= p.n || z >= p.splits) { return; }
    store_block(r + 0u, col + 0u, z, m00); store_block(r + 0u, col + 4u, z, m01); store_block(r + 0u, col + 8u, z, m02); store_block(r + 0u, col + 12u, z, m03); store_block(r + 0u, col + 16u, z, m04); store_block(r + 0u, col + 20u, z, m05); store_block(r + 0u, col + 24u, z, m06); store_block(r + 0u, col + 28u, z, m07);
    store_block(r + 4u, col + 0u, z, m10); store_block(r + 4u, col + 4u, z, m11); store_block(r + 4u, col + 8u, z, m12); store_block(r + 4u, col + 12u, z, m13); store_block(r + 4u, col + 16u, z, m14); store_block(r + 4u, col + 20u, z, m15); store_block(r + 4u, col + 24u, z, m16); store_block(r + 4u, col + 28u, z, m17);
    store_block(r + 8u, col + 0u, z, m20); store_block(r + 8u, col + 4u, z, m21); store_block(r + 8u, col + 8u, z, m22); store_block(r + 8u, col + 12u, z, m23); store_block(r + 8u, col + 16u, z, m24); store_block(r + 8u, col + 20u, z, m25); store_block(r + 8u, col + 24u, z, m26); store_block(r + 8u, col + 28u, z, m27);
    store_block(r + 12u, col + 0u, z, m30); store_block(r + 12u, col + 4u, z, m31); store_block(r + 12u, col + 8u, z, m32); store_block(r + 12u, col + 12u, z, m33); store_block(r + 12u, col + 16u, z, m34); store_block(r + 12u, col + 20u, z, m35); store_block(r + 12u, col + 24u, z, m36); store_block(r + 12u, col + 28u, z, m37);
    store_block(r + 16u, col + 0u, z, m40); store_block(r + 16u, col + 4u, z, m41); store_block(r + 16u, col + 8u, z, m42); store_block(r + 16u, col + 12u, z, m43); store_block(r + 16u, col + 16u, z, m44); store_block(r + 16u, col + 20u, z, m45); store_block(r + 16u, col + 24u, z, m46); store_block(r + 16u, col + 28u, z, m47);
    store_block(r + 20u, col + 0u, z, m50); store_block(r + 20u, col + 4u, z, m51); store_block(r + 20u, col + 8u, z, m52); store_block(r + 20u, col + 12u, z, m53); store_block(r + 20u, col + 16u, z, m54); store_block(r + 20u, col + 20u, z, m55); store_block(r + 20u, col + 24u, z, m56); store_block(r + 20u, col + 28u, z, m57);
    store_block(r + 24u, col + 0u, z, m60); store_block(r + 24u, col + 4u, z, m61); store_block(r + 24u, col + 8u, z, m62); store_block(r + 24u, col + 12u, z, m63); store_block(r + 24u, col + 16u, z, m64); store_block(r + 24u, col + 20u, z, m65); store_block(r + 24u, col + 24u, z, m66); store_block(r + 24u, col + 28u, z, m67);
    store_block(r + 28u, col + 0u, z, m70); store_block(r + 28u, col + 4u, z, m71); store_block(r + 28u, col + 8u, z, m72); store_block(r + 28u, col + 12u, z, m73); store_block(r + 28u, col + 16u, z, m74); store_block(r + 28u, col + 20u, z, m75); store_block(r + 28u, col + 24u, z, m76); store_block(r + 28u, col + 28u, z, m77);
}

// ---- CPU-adapter kernel for A * B^T with a small output over a long k ---------------------

// A convolution's weight gradient dW = dY * cols^T (16 x 25 over 100,352 positions for the cnn's
// first layer) stores both operands along k, and its output fills few of main_blocked's 32x16
// blocks. Here the 64 lanes of a workgroup split k instead, interleaved four values at a time:
// lane l reads a[r, 4 (l + 64 i) ..] and b[col, 4 (l + 64 i) ..] as vec4 (one load for four
// values, K a multiple of 4), so 16 loads feed 256 multiply-adds and a SIMD group's loads fall
// on consecutive addresses. Each lane keeps the 8x8 block of C at (8 wg.y, 8 wg.x) as dot
// products and writes it as its own split (wg.z * 64 + l), which reduce_splits adds up.
// Rows and columns past the edge are clamped, as in main_blocked, and never stored.
const DOT_LANES: u32 = 64u;

fn a_row4(r: u32) -> u32 { return min(r, p.m - 1u) * (p.k / 4u); }
fn b_row4(col: u32) -> u32 { return min(col, p.n - 1u) * (p.k / 4u); }

@compute @workgroup_size(64)
fn main_dot(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let r = wg.y * 8u;
    let col = wg.x * 8u;
    let kr = k_range(wg.z) / 4u;
    let ar0 = a_row4(r); let ar1 = a_row4(r + 1u); let ar2 = a_row4(r + 2u); let ar3 = a_row4(r + 3u);
    let ar4 = a_row4(r + 4u); let ar5 = a_row4(r + 5u); let ar6 = a_row4(r + 6u); let ar7 = a_row4(r + 7u);
    let br0 = b_row4(col); let br1 = b_row4(col + 1u); let br2 = b_row4(col + 2u); let br3 = b_row4(col + 3u);
    let br4 = b_row4(col + 4u); let br5 = b_row4(col + 5u); let br6 = b_row4(col + 6u); let br7 = b_row4(col + 7u);
    // s{i}{j}: row r + i, columns col + 4j .. col + 4j + 3.
    var s00 = vec4<f32>(); var s01 = vec4<f32>(); var s10 = vec4<f32>(); var s11 = vec4<f32>();
    var s20 = vec4<f32>(); var s21 = vec4<f32>(); var s30 = vec4<f32>(); var s31 = vec4<f32>();
    var s40 = vec4<f32>(); var s41 = vec4<f32>(); var s50 = vec4<f32>(); var s51 = vec4<f32>();
    var s60 = vec4<f32>(); var s61 = vec4<f32>(); var s70 = vec4<f32>(); var s71 = vec4<f32>();
    for (var q = kr.x + li; q < kr.y; q += DOT_LANES) {
        // v * M is the vector of dot(v, column j of M): four dot products.
        let lo = mat4x4<f32>(b_vec4[br0 + q], b_vec4[br1 + q], b_vec4[br2 + q], b_vec4[br3 + q]);
        let hi = mat4x4<f32>(b_vec4[br4 + q], b_vec4[br5 + q], b_vec4[br6 + q], b_vec4[br7 + q]);
        let a0 = a_vec4[ar0 + q]; s00 += a0 * lo; s01 += a0 * hi;
        let a1 = a_vec4[ar1 + q]; s10 += a1 * lo; s11 += a1 * hi;
        let a2 = a_vec4[ar2 + q]; s20 += a2 * lo; s21 += a2 * hi;
        let a3 = a_vec4[ar3 + q]; s30 += a3 * lo; s31 += a3 * hi;
        let a4 = a_vec4[ar4 + q]; s40 += a4 * lo; s41 += a4 * hi;
        let a5 = a_vec4[ar5 + q]; s50 += a5 * lo; s51 += a5 * hi;
        let a6 = a_vec4[ar6 + q]; s60 += a6 * lo; s61 += a6 * hi;
        let a7 = a_vec4[ar7 + q]; s70 += a7 * lo; s71 += a7 * hi;
    }
    let z = wg.z * DOT_LANES + li;
    store_row(r, col, z, s00); store_row(r, col + 4u, z, s01);
    store_row(r + 1u, col, z, s10); store_row(r + 1u, col + 4u, z, s11);
    store_row(r + 2u, col, z, s20); store_row(r + 2u, col + 4u, z, s21);
    store_row(r + 3u, col, z, s30); store_row(r + 3u, col + 4u, z, s31);
    store_row(r + 4u, col, z, s40); store_row(r + 4u, col + 4u, z, s41);
    store_row(r + 5u, col, z, s50); store_row(r + 5u, col + 4u, z, s51);
    store_row(r + 6u, col, z, s60); store_row(r + 6u, col + 4u, z, s61);
    store_row(r + 7u, col, z, s70); store_row(r + 7u, col + 4u, z, s71);
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

// ---- matrix-vector product -----------------------------------------------------------------------

fn a4(row: u32, k: u32) -> vec4<f32> {
    let i = row * p.k + k;
    if (VEC4) { return a_vec4[i / 4u]; }
    return vec4<f32>(a[i], a[i + 1u], a[i + 2u], a[i + 3u]);
}

fn b4(col: u32, k: u32) -> vec4<f32> {
    let i = min(col, p.n - 1u) * p.k + k;
    if (VEC4) { return b_vec4[i / 4u]; }
    return vec4<f32>(b[i], b[i + 1u], b[i + 2u], b[i + 3u]);
}

// c[m, n] = sum_k a[m, k] * b[n, k]: a linear layer (weights [N, K]) on a handful of rows,
// where a tiled product would idle most of its tile. One invocation per 4 output columns
// and row m = workgroup y: lanes read their own weight rows and share the row of a (each
// load of it serves four columns). No early return, as in ternary_matmul: lanes past N read
// a clamped row, so control flow stays uniform.
@compute @workgroup_size(64)
fn matvec(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let col = (wg.x * 64u + lid.x) * 4u;
    let row = wg.y;
    var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
    let k4 = p.k & ~3u;
    for (var k = 0u; k < k4; k += 4u) {
        let av = a4(row, k);
        s0 = fma(av, b4(col, k), s0);
        s1 = fma(av, b4(col + 1u, k), s1);
        s2 = fma(av, b4(col + 2u, k), s2);
        s3 = fma(av, b4(col + 3u, k), s3);
    }
    var out = vec4<f32>(1.0) * mat4x4<f32>(s0, s1, s2, s3);
    for (var k = k4; k < p.k; k++) {
        let av = a[row * p.k + k];
        for (var j = 0u; j < 4u; j++) {
            out[j] = fma(av, b[min(col + j, p.n - 1u) * p.k + k], out[j]);
        }
    }
    for (var j = 0u; j < 4u; j++) { store_checked(row, col + j, 0u, out[j]); }
}
