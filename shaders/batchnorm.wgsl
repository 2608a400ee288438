// Batch normalization (Ioffe & Szegedy 2015) of an [n, c, hw] activation, per channel, as
// four steps around `channel_affine`, which applies y = x * scale[c] + shift[c]:
//
// - bn_train_stats (training; one workgroup per channel): the batch mean and variance over
//   n * hw values (two passes: the mean, then squared deviations from it), saved for the
//   backward pass as stats = [mean | 1 / sqrt(var + eps)]; scale and shift from them and
//   gamma, beta; and the running statistics moved toward them by `momentum` (the variance
//   unbiased, as PyTorch keeps it).
// - bn_eval_affine (evaluation; one thread per channel): scale and shift from the running
//   statistics, and stats likewise, so the backward pass reads one layout either way.
// - bn_backward_reduce (one workgroup per channel): dbeta = sum dy and dgamma = sum dy * xhat,
//   xhat = (x - mean) * invstd.
// - bn_backward_dx (training): dx = gamma * invstd / m * (m dy - dbeta - xhat dgamma), the
//   gradient through the batch statistics (m = n * hw). In evaluation dx = dy * scale, which
//   is `channel_scale`.

struct Params { n: u32, c: u32, hw: u32, _p: u32, momentum: f32, eps: f32, _p1: u32, _p2: u32 }

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;    // [mean c | invstd c]
@group(0) @binding(7) var<storage, read_write> scale_shift: array<f32>;  // [scale c | shift c]

// Element e (0 <= e < n * hw) of channel ch.
fn at(ch: u32, e: u32) -> u32 {
    return ((e / p.hw) * p.c + ch) * p.hw + e % p.hw;
}

// workgroup_sum: shaders/common/workgroup_sum.wgsl, appended to this file when it is compiled.

@compute @workgroup_size(256)
fn bn_train_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let ch = wg.x;
    let m = p.n * p.hw;
    var s = 0.0;
    for (var e = li; e < m; e += WG) { s += x[at(ch, e)]; }
    let mean = workgroup_sum(li, s) / f32(m);
    var q = 0.0;
    for (var e = li; e < m; e += WG) {
        let d = x[at(ch, e)] - mean;
        q += d * d;
    }
    let var_b = workgroup_sum(li, q) / f32(m);
    if (li == 0u) {
        let invstd = inverseSqrt(var_b + p.eps);
        stats[ch] = mean;
        stats[p.c + ch] = invstd;
        let sc = gamma[ch] * invstd;
        scale_shift[ch] = sc;
        scale_shift[p.c + ch] = beta[ch] - mean * sc;
        let unbiased = select(var_b, var_b * f32(m) / f32(m - 1u), m > 1u);
        running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * mean;
        running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * unbiased;
    }
}

@compute @workgroup_size(256)
fn bn_eval_affine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let ch = (wg.y * nwg.x + wg.x) * WG + li;
    if (ch >= p.c) { return; }
    let invstd = inverseSqrt(running_var[ch] + p.eps);
    stats[ch] = running_mean[ch];
    stats[p.c + ch] = invstd;
    let sc = gamma[ch] * invstd;
    scale_shift[ch] = sc;
    scale_shift[p.c + ch] = beta[ch] - running_mean[ch] * sc;
}
