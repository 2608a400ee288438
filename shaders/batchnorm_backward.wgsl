// Batch normalization's backward pass (see batchnorm.wgsl): per channel the sums
// dbeta = sum dy and dgamma = sum dy * xhat (bn_backward_reduce, one workgroup per channel),
// then, for a training pass, the input gradient through the batch statistics
// dx = gamma * invstd / m * (m dy - dbeta - xhat dgamma) (bn_backward_dx; m = n * hw).

struct Params { n: u32, c: u32, hw: u32, _p: u32 }

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;       // [mean c | invstd c]
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> sums: array<f32>;  // [dgamma c | dbeta c]
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

// Element e (0 <= e < n * hw) of channel ch.
fn at(ch: u32, e: u32) -> u32 {
    return ((e / p.hw) * p.c + ch) * p.hw + e % p.hw;
}

// workgroup_sum: shaders/common/workgroup_sum.wgsl, appended to this file when it is compiled.

@compute @workgroup_size(256)
fn bn_backward_reduce(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let ch = wg.x;
    let m = p.n * p.hw;
    let mean = stats[ch];
    let invstd = stats[p.c + ch];
    var sb = 0.0;
    var sg = 0.0;
    for (var e = li; e < m; e += WG) {
        let i = at(ch, e);
        sb += dy[i];
        sg += dy[i] * (x[i] - mean) * invstd;
    }
    let dgamma = workgroup_sum(li, sg);
    let dbeta = workgroup_sum(li, sb);
    if (li == 0u) {
        sums[ch] = dgamma;
        sums[p.c + ch] = dbeta;
    }
}

@compute @workgroup_size(256)
fn bn_backward_dx(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i >= p.n * p.c * p.hw) { return; }
    let ch = (i / p.hw) % p.c;
    let m = f32(p.n * p.hw);
    let invstd = stats[p.c + ch];
    let xhat = (x[i] - stats[ch]) * invstd;
    dx[i] = gamma[ch] * invstd / m * (m * dy[i] - sums[p.c + ch] - xhat * sums[ch]);
}
