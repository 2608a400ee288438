// Pixel noise of the corruption benchmarks (`aer shift`): Gaussian, shot (Poisson) and impulse
// (salt and pepper) noise on images x [n, c, h, w] in [0, 1], results clipped to [0, 1]. Every
// element draws from (seed, its example e, its index j within the example, a stream), so an
// example's noise does not depend on the batch it is corrupted in and a rerun draws the same.
//
// gaussian_noise: x + a z, z standard normal (Box-Muller).
// shot_noise:     Poisson(a x) / a. Means up to SHOT_EXACT are drawn exactly by inversion
//                 (walk the CDF until it passes a uniform draw); larger means use the normal
//                 approximation round(m + sqrt(m) z), clamped at 0 (its error in the CDF is
//                 O(1/sqrt(m)), below 0.07 at the threshold and shrinking).
// impulse_noise:  with probability a the element is replaced, by 1 or 0 with probability 1/2
//                 each (skimage's random_noise(mode = "s&p", amount = a)).

struct Params { total: u32, d: u32, seed: u32, _p: u32, a: f32, _q: f32, _r: f32, _s: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

const SHOT_EXACT: f32 = 32.0;
// The inversion loop's bound: P(k > 128) for a mean of 32 is below 1e-30.
const SHOT_MAX_STEPS: u32 = 128u;

// Draw `stream` of element i: uniform in [0, 1) keyed by (seed, example, index in example).
fn draw(i: u32, stream: u32) -> f32 {
    let e = i / p.d;
    return pcg_uniform01(pcg(p.seed ^ pcg(e)), i - e * p.d, stream);
}

// Standard normal by Box-Muller from streams 0 and 1 (1 - u keeps the log finite).
fn normal(i: u32) -> f32 {
    let u1 = draw(i, 0u);
    let u2 = draw(i, 1u);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.2831853 * u2);
}

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn gaussian_noise(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    dst[i] = clamp(src[i] + p.a * normal(i), 0.0, 1.0);
}

@compute @workgroup_size(256)
fn shot_noise(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let m = p.a * max(src[i], 0.0);
    var k = 0.0;
    if (m <= SHOT_EXACT) {
        let u = draw(i, 2u);
        var term = exp(-m);
        var cdf = term;
        for (var s = 1u; s <= SHOT_MAX_STEPS && u > cdf; s++) {
            term *= m / f32(s);
            cdf += term;
            k = f32(s);
        }
    } else {
        k = max(round(m + sqrt(m) * normal(i)), 0.0);
    }
    dst[i] = clamp(k / p.a, 0.0, 1.0);
}

@compute @workgroup_size(256)
fn impulse_noise(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let salt = select(0.0, 1.0, draw(i, 1u) < 0.5);
    dst[i] = select(src[i], salt, draw(i, 0u) < p.a);
}

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.
