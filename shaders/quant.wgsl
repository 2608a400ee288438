// Ternary quantization of a weight tensor [N, K] into values {-scale_neg, 0, +scale_pos},
// per layer (one group of N * K weights) or per output channel (N groups of K).
//
//   ternary_threshold  the threshold delta of each group, and its TWN scale alpha, the mean
//                      |w| over |w| > delta (the scale that minimises the L2 error):
//                        TWN (Li & Liu 2016): delta = 0.7 * mean |w|   (FACTOR = 0.7)
//                        TTQ (Zhu et al. 2017): delta = t * max |w|     (FACTOR = t)
//   ternarize          the dequantized weights that forward and backward passes use
//   ternary_ste        TTQ's gradients: the scales' and the latent weights' (straight through)
//   ternary_pack       the 2-bit packed form (layout in ternary.wgsl)
//   ternary_relax      BinaryRelax (Yin et al. 2018): the weights relaxed toward their
//                      projection, (w + lambda * wq) / (1 + lambda), in place of wq
//   channel_lasso      the gradient of mu * sum over output channels of ||w_row||, added to
//                      the latent weights' gradient (the channel-sparsity term)

// 0: delta = FACTOR * mean |w| (TWN); 1: delta = FACTOR * max |w| (TTQ).
override RULE: u32 = 0u;
override FACTOR: f32 = 0.7;
// Write alpha into both scales (TWN, and TTQ's initial scales).
override WRITE_SCALES: bool = true;

// weight: ternary_relax's lambda or channel_lasso's mu.
struct Params { n: u32, k: u32, groups: u32, group_size: u32, words: u32, weight: f32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// Latent full-precision weights [N, K].
@group(0) @binding(1) var<storage, read> w: array<f32>;
// Per group: threshold, scales, and the scales' gradients (TTQ).
@group(0) @binding(2) var<storage, read_write> delta: array<f32>;
@group(0) @binding(3) var<storage, read_write> scale_pos: array<f32>;
@group(0) @binding(4) var<storage, read_write> scale_neg: array<f32>;
// ternarize: the dequantized weights; ternary_ste: dL/dwq in, dL/dw out (in place).
@group(0) @binding(5) var<storage, read_write> wq: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_pos: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad_neg: array<f32>;
// ternary_pack: [N, words] codes and the scales per row.
@group(0) @binding(8) var<storage, read_write> packed: array<u32>;
@group(0) @binding(9) var<storage, read_write> row_pos: array<f32>;
@group(0) @binding(10) var<storage, read_write> row_neg: array<f32>;

const WG: u32 = 256u;
var<workgroup> red_a: array<f32, WG>;
var<workgroup> red_b: array<f32, WG>;

// Tree sums (or maxima) of red_a and red_b across the workgroup; every lane gets the result.
fn reduce_pair(li: u32, use_max: bool) -> vec2<f32> {
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s) {
            if (use_max) { red_a[li] = max(red_a[li], red_a[li + s]); } else { red_a[li] += red_a[li + s]; }
            red_b[li] += red_b[li + s];
        }
    }
    workgroupBarrier();
    let r = vec2<f32>(red_a[0], red_b[0]);
    workgroupBarrier();
    return r;
}

fn group_of(i: u32) -> u32 {
    return i / p.group_size;
}

// One workgroup per group.
@compute @workgroup_size(WG)
fn ternary_threshold(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let g = wg.x;
    let base = g * p.group_size;
    var a = 0.0;
    for (var i = li; i < p.group_size; i += WG) {
        let v = abs(w[base + i]);
        if (RULE == 1u) { a = max(a, v); } else { a += v; }
    }
    red_a[li] = a;
    red_b[li] = 0.0;
    var stat = reduce_pair(li, RULE == 1u).x;
    if (RULE == 0u) { stat /= f32(p.group_size); }
    let d = FACTOR * stat;
    // alpha: mean |w| over the weights above the threshold.
    var s = 0.0;
    var c = 0.0;
    for (var i = li; i < p.group_size; i += WG) {
        let v = abs(w[base + i]);
        if (v > d) { s += v; c += 1.0; }
    }
    red_a[li] = s;
    red_b[li] = c;
    let sc = reduce_pair(li, false);
    if (li == 0u) {
        delta[g] = d;
        if (WRITE_SCALES) {
            let alpha = select(0.0, sc.x / sc.y, sc.y > 0.0);
            scale_pos[g] = alpha;
            scale_neg[g] = alpha;
        }
    }
}

@compute @workgroup_size(WG)
fn ternarize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i >= p.n * p.k) { return; }
    let g = group_of(i);
    let v = w[i];
    let d = delta[g];
    wq[i] = select(select(0.0, -scale_neg[g], v < -d), scale_pos[g], v > d);
}

// TTQ's backward pass, one workgroup per group. In: wq holds dL/dwq. Out: wq holds the
// latent weights' gradient, scale_pos * g where w > delta, g in between, scale_neg * g where
// w < -delta; grad_pos[g] and grad_neg[g] the scales' gradients (the sum of g over the
// positive weights, minus the sum over the negative ones).
@compute @workgroup_size(WG)
fn ternary_ste(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let g = wg.x;
    let base = g * p.group_size;
    let d = delta[g];
    let sp = scale_pos[g];
    let sn = scale_neg[g];
    var gp = 0.0;
    var gn = 0.0;
    for (var j = li; j < p.group_size; j += WG) {
        let i = base + j;
        let v = w[i];
        let dq = wq[i];
        if (v > d) {
            gp += dq;
            wq[i] = sp * dq;
        } else if (v < -d) {
            gn -= dq;
            wq[i] = sn * dq;
        }
    }
    red_a[li] = gp;
    red_b[li] = gn;
    let r = reduce_pair(li, false);
    if (li == 0u) {
        grad_pos[g] = r.x;
        grad_neg[g] = r.y;
    }
}

// One invocation per packed word: 16 weights of one row.
@compute @workgroup_size(WG)
fn ternary_pack(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let idx = (wg.y * nwg.x + wg.x) * WG + li;
    if (idx >= p.n * p.words) { return; }
    let row = idx / p.words;
    let kw = idx % p.words;
    let g = group_of(row * p.k);
    let d = delta[g];
    var word = 0u;
    for (var j = 0u; j < 16u; j++) {
        let k = kw * 16u + j;
        if (k < p.k) {
            let v = w[row * p.k + k];
            let code = select(select(0u, 3u, v < -d), 1u, v > d);
            word |= code << (2u * j);
        }
    }
    packed[idx] = word;
    if (kw == 0u) {
        row_pos[row] = scale_pos[g];
        row_neg[row] = scale_neg[g];
    }
}

// BinaryRelax's relaxed weights: wq (the projection, from ternarize) moved back toward the
// latent weights; lambda grows during training, and the exact projection is lambda = inf.
@compute @workgroup_size(WG)
fn ternary_relax(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i >= p.n * p.k) { return; }
    wq[i] = (w[i] + p.weight * wq[i]) / (1.0 + p.weight);
}

// One workgroup per output channel (row): wq (the latent gradient) += mu * w_row / ||w_row||,
// nothing for a row that is all zeros (the subgradient 0).
@compute @workgroup_size(WG)
fn channel_lasso(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.x;
    let base = row * p.k;
    var ss = 0.0;
    for (var j = li; j < p.k; j += WG) {
        let v = w[base + j];
        ss += v * v;
    }
    red_a[li] = ss;
    red_b[li] = 0.0;
    let norm = sqrt(reduce_pair(li, false).x);
    if (norm == 0.0) { return; }
    for (var j = li; j < p.k; j += WG) {
        wq[base + j] += p.weight * w[base + j] / norm;
    }
}
