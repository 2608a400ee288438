// Optimizer updates, one invocation per parameter, with PyTorch's semantics.
//   sgd:  g += wd * w;  v = momentum * v + g;  w -= lr * (nesterov ? g + momentum * v : v)
//   adam: g += wd * w (or decoupled: w -= lr * wd * w, AdamW);  m, v moving averages;
//         w -= lr * (m / bc1) / (sqrt(v / bc2) + eps), bc = 1 - beta^t computed on the CPU.

struct Params {
    n: u32, nesterov: u32, decoupled: u32, _pad: u32,
    lr: f32, momentum: f32, weight_decay: f32, beta1: f32,
    beta2: f32, eps: f32, bc1: f32, bc2: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;   // sgd: momentum buffer
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn sgd(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
       @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let g = grad[i] + p.weight_decay * w[i];
    let buf = p.momentum * m[i] + g;
    m[i] = buf;
    var step = buf;
    if (p.nesterov != 0u) { step = g + p.momentum * buf; }
    w[i] -= p.lr * step;
}

@compute @workgroup_size(256)
fn adam(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    var wi = w[i];
    var g = grad[i];
    if (p.decoupled != 0u) { wi -= p.lr * p.weight_decay * wi; } else { g += p.weight_decay * wi; }
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}
