// Parameter corruption (Sun et al., 2021): bounded perturbations of a weight tensor w around
// its clean values w0, found by gradient ascent on the loss or drawn at random, and the
// squared norms their radii and steps are measured in.
//
// Norms live in `norms`, a small array of slots: `sum_squares` adds a tensor's sum of squares
// (or of its difference from w0) to a slot, so one slot can cover one layer or the whole
// model. A radius is eps + rel * (a reference norm): absolute, or relative to the clean
// weights' norm (L2) or root mean square (L-inf).

struct Params {
    n: u32,
    // The slot this launch reads the gradient's (or perturbation's) squared norm from, or adds
    // its sum to.
    slot: u32,
    // The slot of the clean weights' squared norm, for relative radii.
    slot_ref: u32,
    seed: u32,
    eps: f32,
    rel: f32,
    // Ascent steps: the step as a fraction of the radius.
    step: f32,
    // sum_squares: 0 sums src^2, 1 sums (src - base)^2. l2_project: 0 clamps into the ball,
    // 1 scales onto its sphere. L-inf kernels: 0 for an absolute radius, else the reference's
    // element count (the radius is then rel times its root mean square).
    mode: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// sum_squares: the tensor. Ascent: the loss gradient.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// The clean weights w0.
@group(0) @binding(2) var<storage, read> base: array<f32>;
// The weights, updated in place.
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
// One partial sum per workgroup of sum_squares_partial.
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<storage, read_write> norms: array<f32>;

const WG: u32 = 256u;
// workgroup_sum: shaders/common/workgroup_sum.wgsl, appended to this file when it is compiled.

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

// Workgroup g sums elements g * WG + li, stepping by all groups' invocations.
@compute @workgroup_size(256)
fn sum_squares_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                       @builtin(local_invocation_index) li: u32) {
    let stride = nwg.x * WG;
    var s = 0.0;
    for (var i = wg.x * WG + li; i < p.n; i += stride) {
        var v = src[i];
        if (p.mode == 1u) { v -= base[i]; }
        s += v * v;
    }
    let total = workgroup_sum(li, s);
    if (li == 0u) { partials[wg.x] = total; }
}

// One workgroup: norms[slot] += the sum of the first n partials.
@compute @workgroup_size(256)
fn sum_squares_final(@builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var i = li; i < p.n; i += WG) { s += partials[i]; }
    let total = workgroup_sum(li, s);
    if (li == 0u) { norms[p.slot] += total; }
}

fn radius() -> f32 {
    var reference = sqrt(norms[p.slot_ref]);
    if (p.mode > 0u) { reference = sqrt(norms[p.slot_ref] / f32(p.mode)); }
    return p.eps + p.rel * reference;
}

// w += step * radius * g / |g| (|g| over the slot's tensors): the steepest L2 ascent step, a
// fraction of the radius long.
@compute @workgroup_size(256)
fn l2_ascent(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let g = sqrt(norms[p.slot]);
    if (g > 0.0) { w[i] += p.step * radius() * src[i] / g; }
}

// w = w0 + (w - w0) * s with |w - w0| (the slot) scaled to at most the radius (mode 0) or
// exactly onto it (mode 1).
@compute @workgroup_size(256)
fn l2_project(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let d = sqrt(norms[p.slot]);
    let r = p.eps + p.rel * sqrt(norms[p.slot_ref]);
    var s = 1.0;
    if (d > 0.0 && (d > r || p.mode == 1u)) { s = r / d; }
    w[i] = base[i] + (w[i] - base[i]) * s;
}

// w = clip(w + step * radius * sign(g), w0 - radius, w0 + radius): an L-inf ascent step.
@compute @workgroup_size(256)
fn linf_ascent(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let r = radius();
    w[i] = clamp(w[i] + p.step * r * sign(src[i]), base[i] - r, base[i] + r);
}

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.

fn uniform01(i: u32, stream: u32) -> f32 {
    return pcg_uniform01(p.seed, i, stream);
}

// A random corner of the L-inf box: w = w0 +- radius.
@compute @workgroup_size(256)
fn random_corner(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let r = radius();
    w[i] = base[i] + select(-r, r, uniform01(i, 0u) < 0.5);
}

// w = w0 + a standard normal draw (Box-Muller); `l2_project` onto the sphere then gives a
// uniformly random direction.
@compute @workgroup_size(256)
fn random_normal(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let u1 = 1.0 - uniform01(i, 1u);
    let u2 = uniform01(i, 2u);
    w[i] = base[i] + sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
