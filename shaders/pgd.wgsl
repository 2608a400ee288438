// Batched first-order attack steps on inputs in [0, 1]. One workgroup per example (the
// example's index is the workgroup's x), so the per-example norms an L2 attack needs are
// workgroup reductions and the whole batch advances in one dispatch. Every step ends with
// the projection onto the eps-ball around the clean input x0 and the clamp to [0, 1]; eps is
// per example, so one batch can run at several radii (as the minimal-distance bisection does).
//
// NORM 0: L-infinity (steps follow the gradient's sign; projection clamps to x0 +- eps).
// NORM 1: L2 (steps follow the normalised gradient; projection rescales x - x0 onto the ball).
// START (random_start only) 0: uniform in the L-inf box; 1: uniform in the L2 ball;
//       2: Gaussian with standard deviation eps (TRADES' start), clamped to [0, 1].

struct Params { batch: u32, dim: u32, seed: u32, window: u32, alpha: f32, rho: f32, _p0: u32, _p1: u32 }

// Per-example state of APGD (Croce & Hein, 2020), 32 bytes.
struct ApgdState {
    eta: f32,            // step size
    best_loss: f32,      // highest loss seen (x at that point is in best_x)
    best_loss_ckpt: f32, // best_loss at the previous checkpoint
    loss_prev: f32,      // loss of the previous iterate
    increases: u32,      // steps since the last checkpoint that raised the loss
    reduced: u32,        // whether the previous checkpoint halved eta
    _p0: u32,
    _p1: u32,
}

override NORM: u32 = 0u;
override START: u32 = 0u;

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;       // current iterate [batch, dim]
@group(0) @binding(2) var<storage, read> x0: array<f32>;            // clean input
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;    // gradient of the objective at x
@group(0) @binding(4) var<storage, read> eps: array<f32>;           // [batch]
@group(0) @binding(5) var<storage, read> step: array<f32>;          // [batch]
@group(0) @binding(6) var<storage, read_write> x_prev: array<f32>;  // APGD: previous iterate
@group(0) @binding(7) var<storage, read> loss: array<f32>;          // objective at x, [batch]
@group(0) @binding(8) var<storage, read> success: array<u32>;       // attack succeeded at x
@group(0) @binding(9) var<storage, read_write> best_x: array<f32>;
@group(0) @binding(10) var<storage, read_write> best_grad: array<f32>;
@group(0) @binding(11) var<storage, read_write> best_loss: array<f32>;
@group(0) @binding(12) var<storage, read_write> best_success: array<u32>;
@group(0) @binding(13) var<storage, read_write> state: array<ApgdState>;

// workgroup_sum: shaders/common/workgroup_sum.wgsl, appended to this file when it is compiled.

// Project v (one coordinate) onto the ball around x0 and into [0, 1]. `scale` is the L2
// rescaling min(1, eps / ||v - x0||) for the whole example; L-inf ignores it.
fn project(v: f32, c: f32, e: f32, scale: f32) -> f32 {
    if (NORM == 0u) { return clamp(clamp(v, c - e, c + e), 0.0, 1.0); }
    return clamp(c + (v - c) * scale, 0.0, 1.0);
}

fn l2_scale(e: f32, norm_sq: f32) -> f32 {
    return min(1.0, e / max(sqrt(norm_sq), 1e-12));
}

// Step direction of one coordinate: the gradient's sign (L-inf) or the gradient divided by
// its norm (`inv_norm`, L2).
fn direction(g: f32, inv_norm: f32) -> f32 {
    if (NORM == 0u) { return sign(g); }
    return g * inv_norm;
}

fn grad_inv_norm(li: u32, base: u32) -> f32 {
    var s = 0.0;
    if (NORM == 1u) {
        for (var j = li; j < p.dim; j += WG) { s += grad[base + j] * grad[base + j]; }
    }
    return 1.0 / max(sqrt(workgroup_sum(li, s)), 1e-12);
}

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.

// Uniform in [0, 1) for counter `i` of stream `stream`.
fn uniform01(i: u32, stream: u32) -> f32 {
    return pcg_uniform01(p.seed, i, stream);
}

// Standard normal for counter `i` (Box-Muller on two streams).
fn normal(i: u32) -> f32 {
    let u1 = 1.0 - uniform01(i, 0u);  // (0, 1]
    let u2 = uniform01(i, 1u);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

@compute @workgroup_size(256)
fn random_start(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wg.x;
    let base = e * p.dim;
    let r = eps[e];
    if (START == 0u) {
        for (var j = li; j < p.dim; j += WG) {
            x[base + j] = clamp(x0[base + j] + r * (2.0 * uniform01(base + j, 0u) - 1.0), 0.0, 1.0);
        }
    } else if (START == 1u) {
        // A Gaussian direction scaled to radius r * u^(1/dim) is uniform in the ball.
        var s = 0.0;
        for (var j = li; j < p.dim; j += WG) { let g = normal(base + j); s += g * g; }
        let total = workgroup_sum(li, s);
        let radius = r * pow(uniform01(e, 2u), 1.0 / f32(p.dim));
        let scale = radius / max(sqrt(total), 1e-12);
        for (var j = li; j < p.dim; j += WG) {
            x[base + j] = clamp(x0[base + j] + normal(base + j) * scale, 0.0, 1.0);
        }
    } else {
        for (var j = li; j < p.dim; j += WG) {
            x[base + j] = clamp(x0[base + j] + r * normal(base + j), 0.0, 1.0);
        }
    }
}

// x + a * direction(grad) at flat index i: the unprojected step.
fn stepped(i: u32, a: f32, inv: f32) -> f32 {
    return x[i] + a * direction(grad[i], inv);
}

// The L2 rescaling that projects the stepped example back onto the ball (unused by L-inf).
fn stepped_scale(li: u32, base: u32, r: f32, a: f32, inv: f32) -> f32 {
    var s = 0.0;
    if (NORM == 1u) {
        for (var j = li; j < p.dim; j += WG) {
            let d = stepped(base + j, a, inv) - x0[base + j];
            s += d * d;
        }
    }
    return l2_scale(r, workgroup_sum(li, s));
}

// APGD's candidate at flat index i: x + alpha (z - x) + (1 - alpha)(x - x_prev), where z is
// the projected step.
fn with_momentum(i: u32, a: f32, inv: f32, zscale: f32, r: f32) -> f32 {
    let xv = x[i];
    let z = project(stepped(i, a, inv), x0[i], r, zscale);
    return xv + p.alpha * (z - xv) + (1.0 - p.alpha) * (xv - x_prev[i]);
}

// PGD step: x <- P(x + step * direction(grad)). FGSM is one step of size eps from x0.
@compute @workgroup_size(256)
fn pgd_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wg.x;
    let base = e * p.dim;
    let r = eps[e];
    let a = step[e];
    let inv = grad_inv_norm(li, base);
    let scale = stepped_scale(li, base, r, a, inv);
    for (var j = li; j < p.dim; j += WG) {
        x[base + j] = project(stepped(base + j, a, inv), x0[base + j], r, scale);
    }
}

// APGD step with momentum: z = P(x + eta * direction(grad)),
// x_next = P(x + alpha (z - x) + (1 - alpha)(x - x_prev)); then x_prev <- x, x <- x_next.
@compute @workgroup_size(256)
fn apgd_step(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wg.x;
    let base = e * p.dim;
    let r = eps[e];
    let a = state[e].eta;
    let inv = grad_inv_norm(li, base);
    let zscale = stepped_scale(li, base, r, a, inv);
    var su = 0.0;
    if (NORM == 1u) {
        for (var j = li; j < p.dim; j += WG) {
            let d = with_momentum(base + j, a, inv, zscale, r) - x0[base + j];
            su += d * d;
        }
    }
    let uscale = l2_scale(r, workgroup_sum(li, su));
    for (var j = li; j < p.dim; j += WG) {
        let u = with_momentum(base + j, a, inv, zscale, r);
        x_prev[base + j] = x[base + j];
        x[base + j] = project(u, x0[base + j], r, uscale);
    }
}

// Keep, per example, the strongest point found so far: a successful attack beats an
// unsuccessful one, and between equals the higher objective wins. Over steps, restarts and
// attacks this is the per-example worst case.
@compute @workgroup_size(256)
fn keep_best(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wg.x;
    let base = e * p.dim;
    let s = success[e];
    let bs = best_success[e];
    let better = (s > bs) || (s == bs && loss[e] > best_loss[e]);
    if (better) {
        for (var j = li; j < p.dim; j += WG) { best_x[base + j] = x[base + j]; }
    }
    storageBarrier();  // every invocation has read the old record before it changes
    if (better && li == 0u) {
        best_loss[e] = loss[e];
        best_success[e] = s;
    }
}

// APGD's bookkeeping after each step: the highest-loss point and its gradient, and whether
// this step raised the loss over the previous iterate.
@compute @workgroup_size(256)
fn keep_max(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wg.x;
    let base = e * p.dim;
    let l = loss[e];
    let better = l > state[e].best_loss;
    if (better) {
        for (var j = li; j < p.dim; j += WG) {
            best_x[base + j] = x[base + j];
            best_grad[base + j] = grad[base + j];
        }
    }
    storageBarrier();
    if (li == 0u) {
        if (l > state[e].loss_prev) { state[e].increases += 1u; }
        state[e].loss_prev = l;
        if (better) { state[e].best_loss = l; }
    }
}

// APGD checkpoint after a window of `window` steps: halve eta and restart from the best point
// when fewer than rho * window steps raised the loss, or when eta was not halved at the
// previous checkpoint and the best loss has not improved since.
@compute @workgroup_size(256)
fn apgd_checkpoint(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let e = wg.x;
    let base = e * p.dim;
    let st = state[e];
    let oscillating = f32(st.increases) <= p.rho * f32(p.window);
    let stalled = st.reduced == 0u && st.best_loss_ckpt >= st.best_loss;
    let reduce = oscillating || stalled;
    if (reduce) {
        for (var j = li; j < p.dim; j += WG) {
            x[base + j] = best_x[base + j];
            grad[base + j] = best_grad[base + j];
        }
    }
    storageBarrier();
    if (li == 0u) {
        if (reduce) { state[e].eta = st.eta * 0.5; }
        state[e].reduced = u32(reduce);
        state[e].best_loss_ckpt = st.best_loss;
        state[e].increases = 0u;
    }
}
