// Learned activation thresholds (joint pruning of weights and activations, JPnet, Yang et al.
// 2019): after a ReLU, activations at or below the layer's threshold theta are zeroed. Theta is
// learned during training as the `sparsity` quantile of the layer's activations, by stochastic
// gradient steps on the quantile (pinball) loss, whose gradient is the share of zeros minus the
// target; the step is scaled by theta plus the mean activation, so the rate does not depend on
// the activations' scale and theta approaches its quantile geometrically.
// It lives on the GPU (theta [1]), so training never reads it back.
//
//   threshold_forward   y = x if x > theta else 0
//   threshold_backward  dx = (dy + l1_grad) where y > 0, else 0 (the activation L1 penalty's
//                       gradient is l1_grad on every kept activation)
//   threshold_stats     per workgroup: the count of zeros of y and the sum of y -> partial
//   threshold_learn     one workgroup:
//                       theta = max(0, theta + rate * (theta + mean) * (sparsity - zeros))

struct Params { numel: u32, groups: u32, sparsity: f32, rate: f32, l1_grad: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> theta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
// threshold_forward reads theta through this read-only view (the same buffer as binding 2).
@group(0) @binding(5) var<storage, read> theta_in: array<f32>;

const WG: u32 = 256u;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

@compute @workgroup_size(WG)
fn threshold_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.numel) { return; }
    let v = x[i];
    y[i] = select(0.0, v, v > theta_in[0]);
}

// x is y of the forward pass, y receives dx; partial holds dy.
@compute @workgroup_size(WG)
fn threshold_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.numel) { return; }
    y[i] = select(0.0, partial[i] + p.l1_grad, x[i] > 0.0);
}

var<workgroup> zeros: array<f32, WG>;
var<workgroup> sums: array<f32, WG>;

// Tree reduction of both arrays; the total ends in element 0.
fn reduce(li: u32) {
    for (var s = WG / 2u; s > 0u; s /= 2u) {
        workgroupBarrier();
        if (li < s) {
            zeros[li] += zeros[li + s];
            sums[li] += sums[li + s];
        }
    }
    workgroupBarrier();
}

// p.groups workgroups in x; each lane strides over the tensor. Counts stay exact in f32 below
// 2^24 per lane's share.
@compute @workgroup_size(WG)
fn threshold_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    var z = 0.0;
    var s = 0.0;
    for (var i = wg.x * WG + li; i < p.numel; i += p.groups * WG) {
        let v = x[i];
        z += select(0.0, 1.0, v == 0.0);
        s += v;
    }
    zeros[li] = z;
    sums[li] = s;
    reduce(li);
    if (li == 0u) {
        partial[2u * wg.x] = zeros[0];
        partial[2u * wg.x + 1u] = sums[0];
    }
}

@compute @workgroup_size(WG)
fn threshold_learn(@builtin(local_invocation_index) li: u32) {
    var z = 0.0;
    var s = 0.0;
    for (var g = li; g < p.groups; g += WG) {
        z += partial[2u * g];
        s += partial[2u * g + 1u];
    }
    zeros[li] = z;
    sums[li] = s;
    reduce(li);
    if (li == 0u) {
        let n = f32(p.numel);
        let t = theta[0];
        theta[0] = max(0.0, t + p.rate * (t + sums[0] / n) * (p.sparsity - zeros[0] / n));
    }
}
