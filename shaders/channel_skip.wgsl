// Weight products that skip the input channels winners-take-all dropped (DASNet, Yang et al.
// 2019). Per example n, wta_select wrote the KEEP kept channels' indices kept[n, KEEP]; each
// channel covers G consecutive inputs of the weight matrix w [M, K] (K = channels * G): the
// kh*kw taps of a convolution, the positions a flattened feature map gives one channel, or 1
// for a plain unit. Only the kept channels' KEEP * G inputs are read and multiplied:
//
//   skip_linear  y[n, m] = sum_{j, q} w[m, kept[n, j] * G + q] * x[n, kept[n, j] * G + q]
//   skip_conv    y[n, m, p] = sum_{j, q} w[m, kept[n, j] * G + q] * cols[j * G + q, n * P + p]
//                cols being the im2col columns of the kept channels only (conv2d.wgsl's im2col
//                with KEPT), and y written straight in [N, M, P] layout
//   skip_conv_backward_data
//                dcols[j * G + q, n * P + p] = sum_m w[m, kept[n, j] * G + q] * dy[n, m, p]
//                the input gradient of skip_conv in the same kept-rows layout (col2im with
//                KEPT takes it to the kept channels of dx), read from dy in [N, M, P] layout
//   skip_conv_weight_grad
//                partial[n, m, r] = sum_p dy[n, m, p] * cols[r, n * P + p] (r < KEEP * G): each
//                example's gradient for the weight columns it read (P a multiple of 4)
//   kept_slots   slots[n, c] = j + 1 where kept[n, j] = c (0, as zero-filled, for dropped c)
//   skip_weight_grad_reduce
//                dw[m, c * G + q] = the sum over the examples that kept c of
//                partial[n, m, (slots[n, c] - 1) * G + q]: skip_conv's weight gradient
//
// The channel index is looked up once per channel and the inputs of a channel are consecutive,
// so the inner loops do no integer division (which CPU adapters run lane by lane).

struct Params { n: u32, m: u32, k: u32, keep: u32, g: u32, p: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
// skip_linear: x [N, K]; skip_conv: cols [KEEP * G, N * P]; skip_conv_backward_data: dy [N, M, P].
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> kept: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// dy [N, M, P] and cols [KEEP * G, N * P] as vec4, P a multiple of 4 (skip_conv_weight_grad;
// skip_conv_backward_data and skip_conv with VEC4): one load for four positions.
@group(0) @binding(5) var<storage, read> dy_v: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> cols_v: array<vec4<f32>>;
override VEC4: bool = false;
// kept_slots (written) and skip_weight_grad_reduce (read): [N, K / G].
@group(0) @binding(7) var<storage, read_write> slots: array<u32>;

const WG: u32 = 64u;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

// Rows past the edge read the last row (never stored), so the inner loop has no branches.
fn w4(m: u32, col: u32) -> vec4<f32> {
    let last = p.m - 1u;
    return vec4<f32>(w[min(m, last) * p.k + col], w[min(m + 1u, last) * p.k + col],
                     w[min(m + 2u, last) * p.k + col], w[min(m + 3u, last) * p.k + col]);
}

// One invocation: 4 outputs of one example.
@compute @workgroup_size(WG)
fn skip_linear(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);
    let quads = (p.m + 3u) / 4u;
    if (t >= p.n * quads) { return; }
    let m = (t % quads) * 4u;
    let n = t / quads;
    var acc = vec4<f32>();
    for (var j = 0u; j < p.keep; j++) {
        let c0 = kept[n * p.keep + j] * p.g;
        for (var q = 0u; q < p.g; q++) {
            let col = c0 + q;
            acc = fma(w4(m, col), vec4<f32>(b[n * p.k + col]), acc);
        }
    }
    for (var i = 0u; i < 4u; i++) {
        if (m + i < p.m) { y[n * p.m + m + i] = acc[i]; }
    }
}

// Positions past the edge of the example read its last position (never stored).
fn cols4(row: u32, n: u32, pos: u32) -> vec4<f32> {
    let base = row * (p.n * p.p) + n * p.p;
    if (VEC4) { return cols_v[(base + min(pos, p.p - 4u)) / 4u]; }
    let last = p.p - 1u;
    return vec4<f32>(b[base + pos], b[base + min(pos + 1u, last)], b[base + min(pos + 2u, last)], b[base + min(pos + 3u, last)]);
}

// outer_acc (acc += outer(a, c), column i of the 4x4 block is output row i): shaders/common/outer_acc.wgsl.

// Row `row` of a 16 x 16 block at 4 positions: an output channel of y [N, M, P] (skip_conv),
// or with DCOLS a kept row of dcols [KEEP * G, N * P] (skip_conv_backward_data). Rows and
// positions past the end are not stored.
fn store_row(row: u32, n: u32, pos: u32, v: vec4<f32>, dcols: bool) {
    var base = (n * p.m + row) * p.p;
    var rows = p.m;
    if (dcols) {
        base = row * (p.n * p.p) + n * p.p;
        rows = p.keep * p.g;
    }
    if (row >= rows) { return; }
    if (pos < p.p) { y[base + pos] = v.x; }
    if (pos + 1u < p.p) { y[base + pos + 1u] = v.y; }
    if (pos + 2u < p.p) { y[base + pos + 2u] = v.z; }
    if (pos + 3u < p.p) { y[base + pos + 3u] = v.w; }
}

fn store_block(row: u32, n: u32, pos: u32, blk: mat4x4<f32>, dcols: bool) {
    store_row(row, n, pos, blk[0], dcols);
    store_row(row + 1u, n, pos, blk[1], dcols);
    store_row(row + 2u, n, pos, blk[2], dcols);
    store_row(row + 3u, n, pos, blk[3], dcols);
}

// Rows row .. row + 3 of a 16 x 16 block: its 4 x 4 blocks at positions pos, +4, +8, +12.
fn store_blocks(row: u32, n: u32, pos: u32, b0: mat4x4<f32>, b1: mat4x4<f32>, b2: mat4x4<f32>, b3: mat4x4<f32>, dcols: bool) {
    store_block(row, n, pos, b0, dcols);
    store_block(row, n, pos + 4u, b1, dcols);
    store_block(row, n, pos + 8u, b2, dcols);
    store_block(row, n, pos + 12u, b3, dcols);
}

// One invocation: a block of 16 outputs x 16 positions of one example, in registers (named
// variables: an indexed array would live in memory on CPU adapters).
@compute @workgroup_size(WG)
fn skip_conv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);
    let col_blocks = (p.p + 15u) / 16u;
    let row_blocks = (p.m + 15u) / 16u;
    if (t >= p.n * row_blocks * col_blocks) { return; }
    let pos = (t % col_blocks) * 16u;
    let m = ((t / col_blocks) % row_blocks) * 16u;
    let n = t / (col_blocks * row_blocks);
    var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>();
    var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>();
    var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>();
    var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>();
    for (var j = 0u; j < p.keep; j++) {
        let c0 = kept[n * p.keep + j] * p.g;
        for (var q = 0u; q < p.g; q++) {
            let row = j * p.g + q;
            let c_0 = cols4(row, n, pos);
            let c_1 = cols4(row, n, pos + 4u);
            let c_2 = cols4(row, n, pos + 8u);
            let c_3 = cols4(row, n, pos + 12u);
            let w0 = w4(m, c0 + q);
            a00 = outer_acc(a00, w0, c_0); a01 = outer_acc(a01, w0, c_1); a02 = outer_acc(a02, w0, c_2); a03 = outer_acc(a03, w0, c_3);
            let w1 = w4(m + 4u, c0 + q);
            a10 = outer_acc(a10, w1, c_0); a11 = outer_acc(a11, w1, c_1); a12 = outer_acc(a12, w1, c_2); a13 = outer_acc(a13, w1, c_3);
            let w2 = w4(m + 8u, c0 + q);
            a20 = outer_acc(a20, w2, c_0); a21 = outer_acc(a21, w2, c_1); a22 = outer_acc(a22, w2, c_2); a23 = outer_acc(a23, w2, c_3);
            let w3 = w4(m + 12u, c0 + q);
            a30 = outer_acc(a30, w3, c_0); a31 = outer_acc(a31, w3, c_1); a32 = outer_acc(a32, w3, c_2); a33 = outer_acc(a33, w3, c_3);
        }
    }
    store_blocks(m, n, pos, a00, a01, a02, a03, false);
    store_blocks(m + 4u, n, pos, a10, a11, a12, a13, false);
    store_blocks(m + 8u, n, pos, a20, a21, a22, a23, false);
    store_blocks(m + 12u, n, pos, a30, a31, a32, a33, false);
}

// The weight column that kept row r (of KEEP * G) of example n reads; rows past the end read
// the last row's (never stored).
fn kept_col(n: u32, r: u32) -> u32 {
    let row = min(r, p.keep * p.g - 1u);
    return kept[n * p.keep + row / p.g] * p.g + row % p.g;
}

fn w_cols(m: u32, c: vec4<u32>) -> vec4<f32> {
    let base = m * p.k;
    return vec4<f32>(w[base + c.x], w[base + c.y], w[base + c.z], w[base + c.w]);
}

// dy [N, M, P]: 4 positions of output channel m of example n (past the end: the last).
fn dy4(n: u32, m: u32, pos: u32) -> vec4<f32> {
    let base = (n * p.m + m) * p.p;
    if (VEC4) { return dy_v[(base + min(pos, p.p - 4u)) / 4u]; }
    let last = p.p - 1u;
    return vec4<f32>(b[base + pos], b[base + min(pos + 1u, last)], b[base + min(pos + 2u, last)], b[base + min(pos + 3u, last)]);
}

// One invocation: a block of 16 kept rows x 16 positions of one example, summed over the
// output channels; the rows' weight columns are looked up once, before the loop.
@compute @workgroup_size(WG)
fn skip_conv_backward_data(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);
    let col_blocks = (p.p + 15u) / 16u;
    let row_blocks = (p.keep * p.g + 15u) / 16u;
    if (t >= p.n * row_blocks * col_blocks) { return; }
    let pos = (t % col_blocks) * 16u;
    let r = ((t / col_blocks) % row_blocks) * 16u;
    let n = t / (col_blocks * row_blocks);
    let k0 = vec4<u32>(kept_col(n, r), kept_col(n, r + 1u), kept_col(n, r + 2u), kept_col(n, r + 3u));
    let k1 = vec4<u32>(kept_col(n, r + 4u), kept_col(n, r + 5u), kept_col(n, r + 6u), kept_col(n, r + 7u));
    let k2 = vec4<u32>(kept_col(n, r + 8u), kept_col(n, r + 9u), kept_col(n, r + 10u), kept_col(n, r + 11u));
    let k3 = vec4<u32>(kept_col(n, r + 12u), kept_col(n, r + 13u), kept_col(n, r + 14u), kept_col(n, r + 15u));
    var a00 = mat4x4<f32>(); var a01 = mat4x4<f32>(); var a02 = mat4x4<f32>(); var a03 = mat4x4<f32>();
    var a10 = mat4x4<f32>(); var a11 = mat4x4<f32>(); var a12 = mat4x4<f32>(); var a13 = mat4x4<f32>();
    var a20 = mat4x4<f32>(); var a21 = mat4x4<f32>(); var a22 = mat4x4<f32>(); var a23 = mat4x4<f32>();
    var a30 = mat4x4<f32>(); var a31 = mat4x4<f32>(); var a32 = mat4x4<f32>(); var a33 = mat4x4<f32>();
    for (var m = 0u; m < p.m; m++) {
        let d_0 = dy4(n, m, pos);
        let d_1 = dy4(n, m, pos + 4u);
        let d_2 = dy4(n, m, pos + 8u);
        let d_3 = dy4(n, m, pos + 12u);
        let w0 = w_cols(m, k0);
        a00 = outer_acc(a00, w0, d_0); a01 = outer_acc(a01, w0, d_1); a02 = outer_acc(a02, w0, d_2); a03 = outer_acc(a03, w0, d_3);
        let w1 = w_cols(m, k1);
        a10 = outer_acc(a10, w1, d_0); a11 = outer_acc(a11, w1, d_1); a12 = outer_acc(a12, w1, d_2); a13 = outer_acc(a13, w1, d_3);
        let w2 = w_cols(m, k2);
        a20 = outer_acc(a20, w2, d_0); a21 = outer_acc(a21, w2, d_1); a22 = outer_acc(a22, w2, d_2); a23 = outer_acc(a23, w2, d_3);
        let w3 = w_cols(m, k3);
        a30 = outer_acc(a30, w3, d_0); a31 = outer_acc(a31, w3, d_1); a32 = outer_acc(a32, w3, d_2); a33 = outer_acc(a33, w3, d_3);
    }
    store_blocks(r, n, pos, a00, a01, a02, a03, true);
    store_blocks(r + 4u, n, pos, a10, a11, a12, a13, true);
    store_blocks(r + 8u, n, pos, a20, a21, a22, a23, true);
    store_blocks(r + 12u, n, pos, a30, a31, a32, a33, true);
}

// dy_v's row for output channel m of example n, and cols_v's for kept row r (past the
// edge: the last, never stored).
fn dy_row(n: u32, m: u32) -> u32 {
    return (n * p.m + min(m, p.m - 1u)) * (p.p / 4u);
}

fn cols_row(n: u32, r: u32) -> u32 {
    return (min(r, p.keep * p.g - 1u) * p.n * p.p + n * p.p) / 4u;
}

// Columns r .. r + 3 of output row m of example n's partial gradient [M, KEEP * G].
fn store_partial(n: u32, m: u32, r: u32, v: vec4<f32>) {
    let rows = p.keep * p.g;
    if (m >= p.m) { return; }
    let base = (n * p.m + m) * rows + r;
    if (r < rows) { y[base] = v.x; }
    if (r + 1u < rows) { y[base + 1u] = v.y; }
    if (r + 2u < rows) { y[base + 2u] = v.z; }
    if (r + 3u < rows) { y[base + 3u] = v.w; }
}

// One invocation: 8 output channels x 8 kept rows of one example, over its positions four at
// a time. s{i}{j}: channel m + i, rows r + 4j .. r + 4j + 3.
@compute @workgroup_size(WG)
fn skip_conv_weight_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);
    let col_blocks = (p.keep * p.g + 7u) / 8u;
    let row_blocks = (p.m + 7u) / 8u;
    if (t >= p.n * row_blocks * col_blocks) { return; }
    let r = (t % col_blocks) * 8u;
    let m = ((t / col_blocks) % row_blocks) * 8u;
    let n = t / (col_blocks * row_blocks);
    let a0 = dy_row(n, m); let a1 = dy_row(n, m + 1u); let a2 = dy_row(n, m + 2u); let a3 = dy_row(n, m + 3u);
    let a4 = dy_row(n, m + 4u); let a5 = dy_row(n, m + 5u); let a6 = dy_row(n, m + 6u); let a7 = dy_row(n, m + 7u);
    let c0 = cols_row(n, r); let c1 = cols_row(n, r + 1u); let c2 = cols_row(n, r + 2u); let c3 = cols_row(n, r + 3u);
    let c4 = cols_row(n, r + 4u); let c5 = cols_row(n, r + 5u); let c6 = cols_row(n, r + 6u); let c7 = cols_row(n, r + 7u);
    var s00 = vec4<f32>(); var s01 = vec4<f32>(); var s10 = vec4<f32>(); var s11 = vec4<f32>();
    var s20 = vec4<f32>(); var s21 = vec4<f32>(); var s30 = vec4<f32>(); var s31 = vec4<f32>();
    var s40 = vec4<f32>(); var s41 = vec4<f32>(); var s50 = vec4<f32>(); var s51 = vec4<f32>();
    var s60 = vec4<f32>(); var s61 = vec4<f32>(); var s70 = vec4<f32>(); var s71 = vec4<f32>();
    for (var q = 0u; q < p.p / 4u; q++) {
        // v * M is the vector of dot(v, column j of M): four rows' sums over the 4 positions.
        let lo = mat4x4<f32>(cols_v[c0 + q], cols_v[c1 + q], cols_v[c2 + q], cols_v[c3 + q]);
        let hi = mat4x4<f32>(cols_v[c4 + q], cols_v[c5 + q], cols_v[c6 + q], cols_v[c7 + q]);
        let d0 = dy_v[a0 + q]; s00 += d0 * lo; s01 += d0 * hi;
        let d1 = dy_v[a1 + q]; s10 += d1 * lo; s11 += d1 * hi;
        let d2 = dy_v[a2 + q]; s20 += d2 * lo; s21 += d2 * hi;
        let d3 = dy_v[a3 + q]; s30 += d3 * lo; s31 += d3 * hi;
        let d4 = dy_v[a4 + q]; s40 += d4 * lo; s41 += d4 * hi;
        let d5 = dy_v[a5 + q]; s50 += d5 * lo; s51 += d5 * hi;
        let d6 = dy_v[a6 + q]; s60 += d6 * lo; s61 += d6 * hi;
        let d7 = dy_v[a7 + q]; s70 += d7 * lo; s71 += d7 * hi;
    }
    store_partial(n, m, r, s00); store_partial(n, m, r + 4u, s01);
    store_partial(n, m + 1u, r, s10); store_partial(n, m + 1u, r + 4u, s11);
    store_partial(n, m + 2u, r, s20); store_partial(n, m + 2u, r + 4u, s21);
    store_partial(n, m + 3u, r, s30); store_partial(n, m + 3u, r + 4u, s31);
    store_partial(n, m + 4u, r, s40); store_partial(n, m + 4u, r + 4u, s41);
    store_partial(n, m + 5u, r, s50); store_partial(n, m + 5u, r + 4u, s51);
    store_partial(n, m + 6u, r, s60); store_partial(n, m + 6u, r + 4u, s61);
    store_partial(n, m + 7u, r, s70); store_partial(n, m + 7u, r + 4u, s71);
}

@compute @workgroup_size(WG)
fn kept_slots(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);    // (n, j)
    if (t >= p.n * p.keep) { return; }
    let n = t / p.keep;
    slots[n * (p.k / p.g) + kept[t]] = t % p.keep + 1u;
}

// One invocation per weight: its gradient summed over the examples that kept its channel.
@compute @workgroup_size(WG)
fn skip_weight_grad_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);    // (m, c, q)
    if (t >= p.m * p.k) { return; }
    let m = t / p.k;
    let c = (t % p.k) / p.g;
    let q = t % p.g;
    let rows = p.keep * p.g;
    let channels = p.k / p.g;
    var acc = 0.0;
    for (var n = 0u; n < p.n; n++) {
        let slot = slots[n * channels + c];
        if (slot > 0u) { acc += b[(n * p.m + m) * rows + (slot - 1u) * p.g + q]; }
    }
    y[t] = acc;
}
