// Interval bound propagation (Gowal et al., 2018) in centre-radius form: a box [c - r, c + r]
// per activation. Affine layers map it exactly (c' = W c + b, r' = |W| r; those products run
// on the ordinary weight kernels, with |W| from `abs_values`); the monotone layers here map
// the box's corners. The last linear layer is folded into the margins z_j - z_y (`ibp_margin`),
// which is tighter than subtracting the logits' bounds (the "elided" specification).
//
// Every kernel is 1-D over its outputs (grid_1d). Backward kernels take the gradient with
// respect to the output box (dc', dr') and give it with respect to the input box.

struct Params { n: u32, classes: u32, k: u32, h: u32, w: u32, oh: u32, ow: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
// The input box (ibp_input: x; backward kernels: dc', dr'; abs/negate/sign_accumulate: the
// values, or the gradient G).
@group(0) @binding(1) var<storage, read> src_c: array<f32>;
@group(0) @binding(2) var<storage, read> src_r: array<f32>;
// The output box (backward kernels: dc, dr; relu backward updates them in place).
@group(0) @binding(3) var<storage, read_write> dst_c: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst_r: array<f32>;
// Max-pool: the in-plane position of each window's lower and upper maximum.
@group(0) @binding(5) var<storage, read_write> arg_lo: array<u32>;
@group(0) @binding(6) var<storage, read_write> arg_hi: array<u32>;
// The last layer's weights [classes, k] and bias; the labels.
@group(0) @binding(7) var<storage, read> weight: array<f32>;
@group(0) @binding(8) var<storage, read> bias: array<f32>;
@group(0) @binding(9) var<storage, read> labels: array<u32>;
// [n, classes]: upper bounds of z_j - z_y (0 at j = y); backward: their gradient.
@group(0) @binding(10) var<storage, read_write> worst: array<f32>;
// Gradients of the last layer's weights and bias, accumulated into.
@group(0) @binding(11) var<storage, read_write> grad_w: array<f32>;
@group(0) @binding(12) var<storage, read_write> grad_b: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// The L-inf ball of radius eps around x, intersected with the image box [0, 1].
@compute @workgroup_size(256)
fn ibp_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let lo = max(src_c[i] - p.eps, 0.0);
    let hi = min(src_c[i] + p.eps, 1.0);
    dst_c[i] = 0.5 * (hi + lo);
    dst_r[i] = 0.5 * (hi - lo);
}

@compute @workgroup_size(256)
fn ibp_relu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let lo = max(src_c[i] - src_r[i], 0.0);
    let hi = max(src_c[i] + src_r[i], 0.0);
    dst_c[i] = 0.5 * (hi + lo);
    dst_r[i] = 0.5 * (hi - lo);
}

// src: the forward input box; dst: dc', dr' in, dc, dr out. With l = c - r and u = c + r,
// c' = (relu(u) + relu(l)) / 2 and r' = (relu(u) - relu(l)) / 2.
@compute @workgroup_size(256)
fn ibp_relu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let dlo = select(0.0, 0.5 * (dst_c[i] - dst_r[i]), src_c[i] - src_r[i] > 0.0);
    let dhi = select(0.0, 0.5 * (dst_c[i] + dst_r[i]), src_c[i] + src_r[i] > 0.0);
    dst_c[i] = dhi + dlo;
    dst_r[i] = dhi - dlo;
}

// 2x2 max-pool, stride 2, over n planes of h x w (odd sizes drop the last row/column): the
// lower corner's maximum and the upper corner's maximum (the first one on ties).
@compute @workgroup_size(256)
fn ibp_maxpool(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.oh * p.ow) { return; }
    let plane = i / (p.oh * p.ow);
    let o = i % (p.oh * p.ow);
    let y0 = (o / p.ow) * 2u;
    let x0 = (o % p.ow) * 2u;
    let base = plane * p.h * p.w;
    var best_lo = y0 * p.w + x0;
    var best_hi = best_lo;
    var lo = src_c[base + best_lo] - src_r[base + best_lo];
    var hi = src_c[base + best_hi] + src_r[base + best_hi];
    for (var d = 1u; d < 4u; d++) {
        let pos = (y0 + d / 2u) * p.w + x0 + d % 2u;
        let l = src_c[base + pos] - src_r[base + pos];
        let u = src_c[base + pos] + src_r[base + pos];
        if (l > lo) { lo = l; best_lo = pos; }
        if (u > hi) { hi = u; best_hi = pos; }
    }
    dst_c[i] = 0.5 * (hi + lo);
    dst_r[i] = 0.5 * (hi - lo);
    arg_lo[i] = best_lo;
    arg_hi[i] = best_hi;
}

// src: dc', dr' per output; dst: dc, dr per input. Each input receives the lower corner's
// gradient if it was its window's lower maximum, the upper corner's if the upper.
@compute @workgroup_size(256)
fn ibp_maxpool_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                        @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.h * p.w) { return; }
    let plane = i / (p.h * p.w);
    let pos = i % (p.h * p.w);
    let oy = (pos / p.w) / 2u;
    let ox = (pos % p.w) / 2u;
    var dlo = 0.0;
    var dhi = 0.0;
    if (oy < p.oh && ox < p.ow) {
        let o = plane * p.oh * p.ow + oy * p.ow + ox;
        if (arg_lo[o] == pos) { dlo = 0.5 * (src_c[o] - src_r[o]); }
        if (arg_hi[o] == pos) { dhi = 0.5 * (src_c[o] + src_r[o]); }
    }
    dst_c[i] = dhi + dlo;
    dst_r[i] = dhi - dlo;
}

// |W|: the weights the radius is multiplied by.
@compute @workgroup_size(256)
fn abs_values(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    dst_c[i] = abs(src_c[i]);
}

// -x: a packed ternary matrix with its negative scales negated multiplies by |W| (see
// `PackedTernary::abs`).
@compute @workgroup_size(256)
fn negate_values(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    dst_c[i] = -src_c[i];
}

// grad_w += sign(W) * G, where G is the gradient with respect to |W| (r' = |W| r).
@compute @workgroup_size(256)
fn sign_accumulate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    grad_w[i] += sign(weight[i]) * src_c[i];
}

// Per example e and class j: the upper bound of z_j - z_y over the box (c, r) [n, k] of the
// last linear layer's input, y = labels[e]:
//   (W_j - W_y) . c + (b_j - b_y) + |W_j - W_y| . r.
// The label's own entry is 0. The example is verified when every other entry is negative.
@compute @workgroup_size(256)
fn ibp_margin(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.classes) { return; }
    let e = i / p.classes;
    let j = i % p.classes;
    let y = labels[e];
    if (j == y) { worst[i] = 0.0; return; }
    var s = bias[j] - bias[y];
    for (var q = 0u; q < p.k; q++) {
        let d = weight[j * p.k + q] - weight[y * p.k + q];
        s += d * src_c[e * p.k + q] + abs(d) * src_r[e * p.k + q];
    }
    worst[i] = s;
}

// The gradient of `ibp_margin` with respect to its input box, [n, k] each:
//   dc[e, q] = sum_j dworst[e, j] (W_jq - W_yq),  dr[e, q] = sum_j dworst[e, j] |W_jq - W_yq|.
@compute @workgroup_size(256)
fn ibp_margin_backward_input(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                             @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.k) { return; }
    let e = i / p.k;
    let q = i % p.k;
    let y = labels[e];
    var dc = 0.0;
    var dr = 0.0;
    for (var j = 0u; j < p.classes; j++) {
        if (j == y) { continue; }
        let g = worst[e * p.classes + j];
        let d = weight[j * p.k + q] - weight[y * p.k + q];
        dc += g * d;
        dr += g * abs(d);
    }
    dst_c[i] = dc;
    dst_r[i] = dr;
}

// The gradient of `ibp_margin` with respect to the last layer's weights and bias, added to
// grad_w [classes, k] and grad_b [classes]: invocation (i, q) for q < k sums over examples e
// and classes j != y_e of dworst[e, j] ([i = j] - [i = y_e]) (c[e, q] + sign(W_jq - W_yq) r[e, q]);
// q = k does the bias.
@compute @workgroup_size(256)
fn ibp_margin_backward_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                              @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);
    if (t >= p.classes * (p.k + 1u)) { return; }
    let i = t / (p.k + 1u);
    let q = t % (p.k + 1u);
    var s = 0.0;
    for (var e = 0u; e < p.n; e++) {
        let y = labels[e];
        if (i == y) {
            // Every class j != y pulls on the label's row with the opposite sign.
            for (var j = 0u; j < p.classes; j++) {
                if (j == y) { continue; }
                let g = worst[e * p.classes + j];
                if (q == p.k) { s -= g; continue; }
                let d = weight[j * p.k + q] - weight[y * p.k + q];
                s -= g * (src_c[e * p.k + q] + sign(d) * src_r[e * p.k + q]);
            }
        } else {
            let g = worst[e * p.classes + i];
            if (q == p.k) { s += g; continue; }
            let d = weight[i * p.k + q] - weight[y * p.k + q];
            s += g * (src_c[e * p.k + q] + sign(d) * src_r[e * p.k + q]);
        }
    }
    if (q == p.k) { grad_b[i] += s; } else { grad_w[i * p.k + q] += s; }
}

// The margins from the logits' own box (when the last layer cannot be folded in, e.g. packed
// ternary weights): upper(z_j) - lower(z_y) = (c_j + r_j) - (c_y - r_y).
@compute @workgroup_size(256)
fn ibp_worst_from_bounds(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.classes) { return; }
    let e = i / p.classes;
    let j = i % p.classes;
    let y = labels[e];
    if (j == y) { worst[i] = 0.0; return; }
    let b = e * p.classes;
    worst[i] = (src_c[b + j] + src_r[b + j]) - (src_c[b + y] - src_r[b + y]);
}
