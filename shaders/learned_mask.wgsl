// Learned pruning masks: masks trained by gradient descent on the network's own loss
// (clean or adversarial), rather than read off the weights' magnitudes.
//
// HYDRA (Sehwag et al. 2020): the weights w are frozen and each has a score s; the forward
// pass uses w * [|s| is among its layer's top k]. Top-k has no useful gradient, so a
// straight-through estimator treats the mask as the identity: dL/ds = dL/dw_eff * w * sign(s).
//
// Hard concrete (Louizos et al. 2018): each weight has a stochastic gate z in [0, 1] with a
// learned location log_alpha. Training draws u ~ U(0, 1) and sets
//   s = sigmoid((log u - log(1 - u) + log_alpha) / beta),  z = clamp(s (zeta - gamma) + gamma, 0, 1);
// the stretch past [0, 1] gives z exact zeros and ones with non-zero probability. At test time
// z = clamp(sigmoid(log_alpha) (zeta - gamma) + gamma, 0, 1). The expected L0 norm is
// sum P(z != 0) = sum sigmoid(log_alpha - beta log(-gamma / zeta)), differentiable in log_alpha.

// n: elements. seed: the draw's stream (hard concrete). sample: 1 draws u, 0 takes the test
// gate. l0: the penalty's weight per gate (the L0 term is l0 * sum P(z != 0)).
struct Params { n: u32, seed: u32, sample: u32, _pad: u32, beta: f32, gamma: f32, zeta: f32, l0: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;          // the weights behind the mask
@group(0) @binding(2) var<storage, read> score: array<f32>;      // HYDRA's s, or log_alpha
@group(0) @binding(3) var<storage, read> grad: array<f32>;       // dL/dw_eff
@group(0) @binding(4) var<storage, read_write> out: array<f32>;  // dL/ds; w_eff; dL/dw; P(z != 0)
@group(0) @binding(5) var<storage, read_write> out2: array<f32>; // z; dL/dlog_alpha
@group(0) @binding(6) var<storage, read> gate: array<f32>;       // z of the forward pass

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// pcg: shaders/common/pcg.wgsl, appended to this file when it is compiled.

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// HYDRA's straight-through score gradient.
@compute @workgroup_size(256)
fn score_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.n) { return; }
    out[i] = grad[i] * w[i] * sign(score[i]);
}

// The gate z (out2) and the gated weight w * z (out): drawn, or the test-time gate.
@compute @workgroup_size(256)
fn gate_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.n) { return; }
    var s: f32;
    if (p.sample != 0u) {
        // u in (0, 1): 24 random bits, offset by half a step from both ends.
        let u = (f32(pcg(i ^ pcg(p.seed)) >> 8u) + 0.5) * (1.0 / 16777216.0);
        s = sigmoid((log(u) - log(1.0 - u) + score[i]) / p.beta);
    } else {
        s = sigmoid(score[i]);
    }
    let z = clamp(s * (p.zeta - p.gamma) + p.gamma, 0.0, 1.0);
    out2[i] = z;
    out[i] = w[i] * z;
}

// From dL/dw_eff: the weights' gradient dL/dw = dL/dw_eff * z (out) and the gate
// locations' dL/dlog_alpha (out2), the L0 penalty's included. Where the stretched s fell
// outside [0, 1] the clamp holds z and passes no gradient.
@compute @workgroup_size(256)
fn gate_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.n) { return; }
    let z = gate[i];
    var dz = 0.0;
    if (z > 0.0 && z < 1.0) {
        // s back from z; ds/dlog_alpha = s (1 - s) / beta.
        let s = (z - p.gamma) / (p.zeta - p.gamma);
        dz = (p.zeta - p.gamma) * s * (1.0 - s) / p.beta;
    }
    let q = sigmoid(score[i] - p.beta * log(-p.gamma / p.zeta));
    out[i] = grad[i] * z;
    out2[i] = grad[i] * w[i] * dz + p.l0 * q * (1.0 - q);
}

// P(z != 0) per gate: what a final mask ranks by.
@compute @workgroup_size(256)
fn gate_open_probability(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.n) { return; }
    out[i] = sigmoid(score[i] - p.beta * log(-p.gamma / p.zeta));
}
