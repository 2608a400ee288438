// Products with packed ternary weights and half-precision activations, for adapters with
// shader-f16 (the pipeline is only created where the device has it). The weights and their
// layout are those of shaders/ternary.wgsl; x and y are f16, which halves the activations'
// memory traffic. Each weight still only adds, subtracts or skips an activation: the 16 terms
// of one packed word are summed in f16 (four per lane, small enough to stay within half
// precision's 11 bits) and the words' sums in f32, so the error does not grow with K.

enable f16;

// x is stored [K, M] (im2col columns) rather than [M, K].
override TRANS_X: bool = false;
// y is stored [N, M] rather than [M, N].
override TRANS_Y: bool = false;
// scale_pos != scale_neg somewhere (TTQ): also sum the unsigned terms.
override ASYMMETRIC: bool = false;
// Rows of x per invocation: 1 (a matrix-vector product) or 4.
override ROWS: u32 = 1u;
override WG: u32 = 64u;
// x is [M, K] with K a multiple of 4: four activations per load through x_vec4.
override X_VEC4: bool = false;

struct Params { m: u32, n: u32, k: u32, words: u32, groups_y: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f16>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> scale_pos: array<f32>;
@group(0) @binding(4) var<storage, read> scale_neg: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f16>;
// The same buffer as x, viewed as vec4 (X_VEC4 only).
@group(0) @binding(6) var<storage, read> x_vec4: array<vec4<f16>>;

// The codes of weights 4 * group .. 4 * group + 3 of a word: 0 skip, 1 add, 3 subtract.
fn codes4(word: u32, group: u32) -> vec4<u32> {
    return (vec4<u32>(word) >> (vec4<u32>(8u * group) + vec4<u32>(0u, 2u, 4u, 6u))) & vec4<u32>(3u);
}

fn signed4(xs: vec4<f16>, c: vec4<u32>) -> vec4<f16> {
    return select(vec4<f16>(0.0h), select(xs, -xs, c == vec4<u32>(3u)), c != vec4<u32>(0u));
}

fn unsigned4(xs: vec4<f16>, c: vec4<u32>) -> vec4<f16> {
    return select(vec4<f16>(0.0h), xs, c != vec4<u32>(0u));
}

fn x_at(row: u32, k: u32) -> f16 {
    // Rows past M and columns past K read a clamped, valid address; their terms are masked
    // to zero (padding codes are 00) or never stored.
    let r = min(row, p.m - 1u);
    let c = min(k, p.k - 1u);
    if (TRANS_X) { return x[c * p.m + r]; }
    return x[r * p.k + c];
}

fn x4(row: u32, k: u32) -> vec4<f16> {
    if (X_VEC4) { return x_vec4[(min(row, p.m - 1u) * p.k + k) / 4u]; }
    return vec4<f16>(x_at(row, k), x_at(row, k + 1u), x_at(row, k + 2u), x_at(row, k + 3u));
}

fn store_y(row: u32, col: u32, v: f32) {
    if (row >= p.m) { return; }
    if (TRANS_Y) { y[col * p.m + row] = f16(v); } else { y[row * p.n + col] = f16(v); }
}

// finish (the scales applied to four columns' sums, stored through store_y):
// shaders/common/ternary_finish.wgsl, appended to this file when it is compiled.

// y[m, n] = sum_k x[m, k] * W[n, k]: one invocation per 4 output columns and ROWS rows, as
// ternary_matmul in shaders/ternary.wgsl (the columns written out, so that llvmpipe's cap on
// loop iterations is not reached sooner than there).
@compute @workgroup_size(WG)
fn ternary_matmul_f16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let col = (wg.x * WG + lid.x) * 4u;
    let row = (wg.z * p.groups_y + wg.y) * ROWS;
    let b0 = min(col, p.n - 1u) * p.words;
    let b1 = min(col + 1u, p.n - 1u) * p.words;
    let b2 = min(col + 2u, p.n - 1u) * p.words;
    let b3 = min(col + 3u, p.n - 1u) * p.words;
    // s{c}[r]: column col + c, row row + r, as four f32 partial sums (lanes of k); a{c} the
    // unsigned ones (ASYMMETRIC only).
    var s0 = mat4x4<f32>(); var s1 = mat4x4<f32>(); var s2 = mat4x4<f32>(); var s3 = mat4x4<f32>();
    var a0 = mat4x4<f32>(); var a1 = mat4x4<f32>(); var a2 = mat4x4<f32>(); var a3 = mat4x4<f32>();
    for (var kw = 0u; kw < p.words; kw++) {
        let w0 = w[b0 + kw];
        let w1 = w[b1 + kw];
        let w2 = w[b2 + kw];
        let w3 = w[b3 + kw];
        // This word's 16 terms in half precision.
        var h0 = mat4x4<f16>(); var h1 = mat4x4<f16>(); var h2 = mat4x4<f16>(); var h3 = mat4x4<f16>();
        var u0 = mat4x4<f16>(); var u1 = mat4x4<f16>(); var u2 = mat4x4<f16>(); var u3 = mat4x4<f16>();
        for (var g = 0u; g < 4u; g++) {
            let k = kw * 16u + g * 4u;
            let c0 = codes4(w0, g);
            let c1 = codes4(w1, g);
            let c2 = codes4(w2, g);
            let c3 = codes4(w3, g);
            for (var r = 0u; r < ROWS; r++) {
                let xs = x4(row + r, k);
                h0[r] += signed4(xs, c0); h1[r] += signed4(xs, c1); h2[r] += signed4(xs, c2); h3[r] += signed4(xs, c3);
                if (ASYMMETRIC) {
                    u0[r] += unsigned4(xs, c0); u1[r] += unsigned4(xs, c1); u2[r] += unsigned4(xs, c2); u3[r] += unsigned4(xs, c3);
                }
            }
        }
        for (var r = 0u; r < ROWS; r++) {
            s0[r] += vec4<f32>(h0[r]); s1[r] += vec4<f32>(h1[r]); s2[r] += vec4<f32>(h2[r]); s3[r] += vec4<f32>(h3[r]);
            if (ASYMMETRIC) {
                a0[r] += vec4<f32>(u0[r]); a1[r] += vec4<f32>(u1[r]); a2[r] += vec4<f32>(u2[r]); a3[r] += vec4<f32>(u3[r]);
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

// Conversions at the edges of a half-precision stretch of the model: h = f16(x), x = f32(h).
// (binding 1 in, binding 5 out; the f32 side is read or written through x_f32 / y_f32.)
@group(0) @binding(7) var<storage, read> x_f32: array<f32>;
@group(0) @binding(8) var<storage, read_write> y_f32: array<f32>;

// The flat index of a 1-D launch whose grid spills into y (see `aer::gpu::grid_1d`).
fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn f32_to_f16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i < p.m) { y[i] = f16(x_f32[i]); }
}

@compute @workgroup_size(256)
fn f16_to_f32(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i < p.m) { y_f32[i] = f32(x[i]); }
}
