// Products with packed ternary weights, without a single multiplication by a weight: each
// weight only adds, subtracts or skips an activation.
//
// Layout (see `aer::quant::packed`): a weight matrix [N, K] (a linear layer's [out, in], or a
// convolution's [out, in * kh * kw]) is stored row by row in `words = ceil(K / 16)` u32 per
// row. Weight k of row n sits in word n * words + k / 16 at bits 2j (nonzero) and 2j + 1
// (negative), j = k % 16: 00 is 0, 01 is +1, 11 is -1. Padding bits past K are 00. Row n's
// values are +scale_pos[n] and -scale_neg[n].
//
// The trick: for an activation with bits b, the term is (b & nonzero) ^ negative, where
// `nonzero` is all ones or all zeros and `negative` is the f32 sign bit: two bit operations.
// With one scale per sign, y = cs * sum(+-x) + ca * sum(x over nonzero), where
// cs = (scale_pos + scale_neg) / 2 and ca = (scale_pos - scale_neg) / 2.

// x is stored [K, M] (im2col columns) rather than [M, K].
override TRANS_X: bool = false;
// y is stored [N, M] (a convolution's channel-major output) rather than [M, N].
override TRANS_Y: bool = false;
// scale_pos != scale_neg somewhere (TTQ): also sum the unsigned terms.
override ASYMMETRIC: bool = false;
// Rows of x per invocation of ternary_matmul: 1 (a matrix-vector product) or 4 (each decoded
// weight serves four rows).
override ROWS: u32 = 1u;
override WG: u32 = 64u;
// x is [M, K] with K a multiple of 4: load four activations at once through x_vec4 (one
// load instead of four on CPU adapters, which issue loads lane by lane).
override X_VEC4: bool = false;

struct Params { m: u32, n: u32, k: u32, words: u32, groups_y: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scale_pos: array<f32>;
@group(0) @binding(4) var<storage, read> scale_neg: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
// The same buffer as x, viewed as vec4 (X_VEC4 only).
@group(0) @binding(6) var<storage, read> x_vec4: array<vec4<f32>>;

const SHIFT_NZ = vec4<u32>(31u, 29u, 27u, 25u);
const SHIFT_NEG = vec4<u32>(30u, 28u, 26u, 24u);
const SIGN = 0x80000000u;

// Masks of the four weights 4 * group .. 4 * group + 3 of a word (their codes fill byte
// `group`): nonzero is all ones where a code's low bit is set, negative the sign bit where its
// high bit is set. Each shift moves the wanted bit to bit 31.
struct Decoded { nz: vec4<u32>, neg: vec4<u32> }

fn decode4(word: u32, group: u32) -> Decoded {
    let s = 8u * group;
    let nz = bitcast<vec4<u32>>(bitcast<vec4<i32>>(vec4<u32>(word) << (SHIFT_NZ - vec4<u32>(s))) >> vec4<u32>(31u));
    let neg = (vec4<u32>(word) << (SHIFT_NEG - vec4<u32>(s))) & vec4<u32>(SIGN);
    return Decoded(nz, neg);
}

fn x_at(row: u32, k: u32) -> f32 {
    // Rows past M and columns past K read a clamped, valid address; their terms are masked
    // to zero (padding codes are 00) or never stored.
    let r = min(row, p.m - 1u);
    let c = min(k, p.k - 1u);
    if (TRANS_X) { return x[c * p.m + r]; }
    return x[r * p.k + c];
}

fn x4(row: u32, k: u32) -> vec4<u32> {
    if (X_VEC4) { return bitcast<vec4<u32>>(x_vec4[(min(row, p.m - 1u) * p.k + k) / 4u]); }
    return bitcast<vec4<u32>>(vec4<f32>(x_at(row, k), x_at(row, k + 1u), x_at(row, k + 2u), x_at(row, k + 3u)));
}

fn store_y(row: u32, col: u32, v: f32) {
    if (row >= p.m) { return; }
    if (TRANS_Y) { y[col * p.m + row] = v; } else { y[row * p.n + col] = v; }
}

// The four weights' terms for four activations with bits xb: +x, -x or 0.
fn signed4(xb: vec4<u32>, d: Decoded) -> vec4<f32> {
    return bitcast<vec4<f32>>((xb & d.nz) ^ d.neg);
}

fn unsigned4(xb: vec4<u32>, d: Decoded) -> vec4<f32> {
    return bitcast<vec4<f32>>(xb & d.nz);
}

// finish (the scales applied to four columns' sums, stored through store_y):
// shaders/common/ternary_finish.wgsl, appended to this file when it is compiled.

// y[m, n] = sum_k x[m, k] * W[n, k]. One invocation per 4 output columns (lanes run along n,
// so every lane reads the same activations) and ROWS rows of x: each activation loaded
// serves four columns, and each decoded weight ROWS rows. Loads dominate on CPU adapters,
// so the weights (1/16 of a load each) and activations (1/4) cost far less than f32's one
// load per weight.
//
// No early return: lanes past N read a clamped row and store nothing, so control flow stays
// uniform and compilers may load the shared activations once for all lanes.
@compute @workgroup_size(WG)
fn ternary_matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    // The row comes from the workgroup id alone, so compilers see it is uniform.
    let col = (wg.x * WG + lid.x) * 4u;
    let row = (wg.z * p.groups_y + wg.y) * ROWS;
    let b0 = min(col, p.n - 1u) * p.words;
    let b1 = min(col + 1u, p.n - 1u) * p.words;
    let b2 = min(col + 2u, p.n - 1u) * p.words;
    let b3 = min(col + 3u, p.n - 1u) * p.words;
    // s{c}[r]: the signed sums of column col + c, row row + r, as four partial sums;
    // a{c}[r] the unsigned ones (ASYMMETRIC only).
    var s0 = mat4x4<f32>(); var s1 = mat4x4<f32>(); var s2 = mat4x4<f32>(); var s3 = mat4x4<f32>();
    var a0 = mat4x4<f32>(); var a1 = mat4x4<f32>(); var a2 = mat4x4<f32>(); var a3 = mat4x4<f32>();
    for (var kw = 0u; kw < p.words; kw++) {
        let w0 = w[b0 + kw];
        let w1 = w[b1 + kw];
        let w2 = w[b2 + kw];
        let w3 = w[b3 + kw];
        for (var g = 0u; g < 4u; g++) {
            let k = kw * 16u + g * 4u;
            let d0 = decode4(w0, g);
            let d1 = decode4(w1, g);
            let d2 = decode4(w2, g);
            let d3 = decode4(w3, g);
            for (var r = 0u; r < ROWS; r++) {
                let xb = x4(row + r, k);
                s0[r] += signed4(xb, d0); s1[r] += signed4(xb, d1); s2[r] += signed4(xb, d2); s3[r] += signed4(xb, d3);
                if (ASYMMETRIC) {
                    a0[r] += unsigned4(xb, d0); a1[r] += unsigned4(xb, d1); a2[r] += unsigned4(xb, d2); a3[r] += unsigned4(xb, d3);
                }
            }
        }
    }
    let one = vec4<f32>(1.0);
    for (var r = 0u; r < ROWS; r++) {
        if (row + r < p.m) {
            finish(row + r, col, one * mat4x4<f32>(s0[r], s1[r], s2[r], s3[r]), one * mat4x4<f32>(a0[r], a1[r], a2[r], a3[r]));
        }
    }
}

// The four weights 4 * group .. 4 * group + 3 of a word as decode4 gives them, with one
// shift per weight instead of two: it puts the negative bit at bit 31 and the nonzero bit
// at bit 30.
const SHIFT_PAIR = vec4<u32>(30u, 28u, 26u, 24u);

fn decode4_pair(word: u32, group: u32) -> Decoded {
    let t = vec4<u32>(word) << (SHIFT_PAIR - vec4<u32>(8u * group));
    return Decoded(bitcast<vec4<u32>>(bitcast<vec4<i32>>(t << vec4<u32>(1u)) >> vec4<u32>(31u)), t & vec4<u32>(SIGN));
}

// The terms of four weights summed (a column's share of four activations), signed or
// unsigned (ASYMMETRIC's second sum).
fn terms_sum(xb: vec4<u32>, d: Decoded, negate: bool) -> f32 {
    var v = bitcast<vec4<f32>>(xb & d.nz);
    if (negate) { v = signed4(xb, d); }
    return (v.x + v.y) + (v.z + v.w);
}

// The sums of one row's four activations xb against 16 columns' words (column 4q + j in
// wq[j]), as matrix column q. The decoding does not depend on xb, so compilers share it
// between the rows of an invocation.
fn row_sums(xb: vec4<u32>, w0: vec4<u32>, w1: vec4<u32>, w2: vec4<u32>, w3: vec4<u32>, group: u32, negate: bool) -> mat4x4<f32> {
    return mat4x4<f32>(quad_sums(xb, w0, group, negate), quad_sums(xb, w1, group, negate),
                       quad_sums(xb, w2, group, negate), quad_sums(xb, w3, group, negate));
}

fn quad_sums(xb: vec4<u32>, words: vec4<u32>, group: u32, negate: bool) -> vec4<f32> {
    return vec4<f32>(terms_sum(xb, decode4_pair(words.x, group), negate), terms_sum(xb, decode4_pair(words.y, group), negate),
                     terms_sum(xb, decode4_pair(words.z, group), negate), terms_sum(xb, decode4_pair(words.w, group), negate));
}

fn words_at(base: vec4<u32>, kw: u32) -> vec4<u32> {
    return vec4<u32>(w[base.x + kw], w[base.y + kw], w[base.z + kw], w[base.w + kw]);
}

// Row `row` of y at columns col..col+15 from the sums of row_sums.
fn finish16(row: u32, col: u32, s: mat4x4<f32>, a: mat4x4<f32>) {
    if (row >= p.m) { return; }
    finish(row, col, s[0], a[0]);
    finish(row, col + 4u, s[1], a[1]);
    finish(row, col + 8u, s[2], a[2]);
    finish(row, col + 12u, s[3], a[3]);
}

// y = x W^T for CPU adapters: 16 columns and ROWS (1 or 4) rows per invocation. CPU
// adapters issue a SIMD group's loads lane by lane, so each activation loaded should serve
// many columns (16 make the activations' loads a sixteenth of the weights') and each decoded
// weight several rows. Each column's four terms are summed at once, which keeps the
// accumulators (16 per row, twice that with ASYMMETRIC) few enough for registers; they are
// named rather than indexed in loops, which CPU compilers would keep in memory. Rows come
// from the workgroup id, as in ternary_matmul.
@compute @workgroup_size(WG)
fn ternary_matmul_wide(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let col = (wg.x * WG + lid.x) * 16u;
    let row = (wg.z * p.groups_y + wg.y) * ROWS;
    let last = vec4<u32>(p.n - 1u);
    let c0 = vec4<u32>(col) + vec4<u32>(0u, 1u, 2u, 3u);
    let b0 = min(c0, last) * p.words;
    let b1 = min(c0 + vec4<u32>(4u), last) * p.words;
    let b2 = min(c0 + vec4<u32>(8u), last) * p.words;
    let b3 = min(c0 + vec4<u32>(12u), last) * p.words;
    // s{r}[q][j]: the signed sum of row row + r, column col + 4q + j; a{r} the unsigned ones.
    var s0 = mat4x4<f32>(); var s1 = mat4x4<f32>(); var s2 = mat4x4<f32>(); var s3 = mat4x4<f32>();
    var a0 = mat4x4<f32>(); var a1 = mat4x4<f32>(); var a2 = mat4x4<f32>(); var a3 = mat4x4<f32>();
    for (var kw = 0u; kw < p.words; kw++) {
        let w0 = words_at(b0, kw);
        let w1 = words_at(b1, kw);
        let w2 = words_at(b2, kw);
        let w3 = words_at(b3, kw);
        for (var g = 0u; g < 4u; g++) {
            let k = kw * 16u + g * 4u;
            let x0 = x4(row, k);
            s0 += row_sums(x0, w0, w1, w2, w3, g, true);
            if (ASYMMETRIC) { a0 += row_sums(x0, w0, w1, w2, w3, g, false); }
            if (ROWS == 4u) {
                let x1 = x4(row + 1u, k);
                let x2 = x4(row + 2u, k);
                let x3 = x4(row + 3u, k);
                s1 += row_sums(x1, w0, w1, w2, w3, g, true);
                s2 += row_sums(x2, w0, w1, w2, w3, g, true);
                s3 += row_sums(x3, w0, w1, w2, w3, g, true);
                if (ASYMMETRIC) {
                    a1 += row_sums(x1, w0, w1, w2, w3, g, false);
                    a2 += row_sums(x2, w0, w1, w2, w3, g, false);
                    a3 += row_sums(x3, w0, w1, w2, w3, g, false);
                }
            }
        }
    }
    finish16(row, col, s0, a0);
    if (ROWS == 4u) {
        finish16(row + 1u, col, s1, a1);
        finish16(row + 2u, col, s2, a2);
        finish16(row + 3u, col, s3, a3);
    }
}

// ternary_matmul for x stored [K, M] (a convolution's im2col columns, TRANS_X), with lanes
// along the rows m instead of the columns: a convolution has few output channels (16 or 32)
// but many positions, which would leave most of ternary_matmul's lanes idle. Here every lane
// of a workgroup decodes the same weight words (a uniform load) and reads activations that
// sit side by side.
@compute @workgroup_size(WG)
fn ternary_matmul_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = (wg.y * nwg.x + wg.x) * WG + lid.x;
    let one = vec4<f32>(1.0);
    for (var col = 0u; col < p.n; col += 4u) {
        let b0 = min(col, p.n - 1u) * p.words;
        let b1 = min(col + 1u, p.n - 1u) * p.words;
        let b2 = min(col + 2u, p.n - 1u) * p.words;
        let b3 = min(col + 3u, p.n - 1u) * p.words;
        var s = mat4x4<f32>();
        var a = mat4x4<f32>();
        for (var kw = 0u; kw < p.words; kw++) {
            let w0 = w[b0 + kw];
            let w1 = w[b1 + kw];
            let w2 = w[b2 + kw];
            let w3 = w[b3 + kw];
            for (var g = 0u; g < 4u; g++) {
                let xb = x4(row, kw * 16u + g * 4u);
                let d0 = decode4(w0, g);
                let d1 = decode4(w1, g);
                let d2 = decode4(w2, g);
                let d3 = decode4(w3, g);
                s[0] += signed4(xb, d0); s[1] += signed4(xb, d1); s[2] += signed4(xb, d2); s[3] += signed4(xb, d3);
                if (ASYMMETRIC) {
                    a[0] += unsigned4(xb, d0); a[1] += unsigned4(xb, d1); a[2] += unsigned4(xb, d2); a[3] += unsigned4(xb, d3);
                }
            }
        }
        if (row < p.m) {
            finish(row, col, one * s, one * a);
        }
    }
}

// The input gradient at row r for the 16 values of k in word column kw:
// dx[r, k] = sum_n dy[r, n] * W[n, k], with dy in binding 1 (laid out as y above):
// +scale_pos * dy where a weight is +1, -scale_neg * dy where it is -1.
fn dx_word(r: u32, kw: u32) -> array<vec4<f32>, 4> {
    var acc: array<vec4<f32>, 4>;
    for (var col = 0u; col < p.n; col++) {
        var g: f32;
        if (TRANS_Y) { g = x[col * p.m + r]; } else { g = x[r * p.n + col]; }
        let pos = bitcast<u32>(g * scale_pos[col]);
        let neg = bitcast<u32>(g * scale_neg[col]);
        let word = w[col * p.words + kw];
        for (var q = 0u; q < 4u; q++) {
            let d = decode4(word, q);
            let v = select(vec4<u32>(pos), vec4<u32>(neg), d.neg != vec4<u32>(0u));
            acc[q] += bitcast<vec4<f32>>((v & d.nz) ^ d.neg);
        }
    }
    return acc;
}

// dx in binding 5, laid out as x above.
fn store_dx(row: u32, kw: u32, acc: array<vec4<f32>, 4>) {
    for (var q = 0u; q < 4u; q++) {
        for (var j = 0u; j < 4u; j++) {
            let k = kw * 16u + q * 4u + j;
            if (k < p.k) {
                if (TRANS_X) { y[k * p.m + row] = acc[q][j]; } else { y[row * p.k + k] = acc[q][j]; }
            }
        }
    }
}

// The input gradient: one invocation per word column (16 values of k) and row m; lanes run
// along the words of a row, which lie side by side.
@compute @workgroup_size(WG)
fn ternary_matmul_t(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let kw = wg.x * WG + lid.x;
    let row = wg.z * p.groups_y + wg.y;
    if (kw >= p.words || row >= p.m) { return; }
    store_dx(row, kw, dx_word(row, kw));
}

// ternary_matmul_t for dx stored [K, M] (TRANS_X), lanes along the rows m, as
// ternary_matmul_cols: each lane reads its own dy values (side by side) and the same weight
// words, and writes one word column's 16 values of dx.
@compute @workgroup_size(WG)
fn ternary_matmul_t_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = (wg.y * nwg.x + wg.x) * WG + lid.x;
    let r = min(row, p.m - 1u);
    for (var kw = 0u; kw < p.words; kw++) {
        let acc = dx_word(r, kw);
        if (row < p.m) { store_dx(row, kw, acc); }
    }
}

// The dequantized weights [N, K] into binding 5: each code times its row's scale (+scale_pos,
// -scale_neg or 0), one invocation per packed word (16 weights). Layers whose packed products
// lose to the dense kernels on an adapter run dense on these (see `crate::nn` plan), computed
// from the packed words so that they always agree with them (e.g. after injected bit flips).
@compute @workgroup_size(WG)
fn ternary_unpack(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = (wg.y * nwg.x + wg.x) * WG + lid.x;
    if (i >= p.n * p.words) { return; }
    let row = i / p.words;
    let k0 = (i % p.words) * 16u;
    let word = w[i];
    let pos = scale_pos[row];
    let neg = -scale_neg[row];
    for (var j = 0u; j < 16u; j++) {
        let k = k0 + j;
        if (k >= p.k) { return; }
        let bits = (word >> (2u * j)) & 3u;
        var v = 0.0;
        if (bits == 1u) { v = pos; } else if (bits == 3u) { v = neg; }
        y[row * p.k + k] = v;
    }
}
