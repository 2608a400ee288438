// AugMix (Hendrycks et al., ICLR 2020) on a batch x [n, c, h, w] of images in [0, 1]: `width`
// chains of 1 to 3 random operations each, mixed with Dirichlet weights, and the mixture
// blended with the original by a Beta draw. The launcher runs, per chain k, three passes of
// `augmix_op` (step d of the chain; a step past the example's depth copies) and then
// `augmix_mix`, which adds the chain into the mixture with its weight.
//
// Operations (AugMix's list without those that overlap the test corruptions, and on grey
// images without the geometric ones, which MNIST-C tests): 0 autocontrast, 1 equalize,
// 2 posterize, 3 solarize, then with p.geometric = 1: 4 rotate, 5 shear x, 6 shear y,
// 7 translate x, 8 translate y. Every example draws its own operation, level and sign per
// (chain, step) from pcg_uniform01(seed, example, stream) with stream 16 k + 4 d + {0, 1, 2}
// (operation, level, sign) and 16 k + 15 for the chain's depth; all channels of an example
// share them. Tone operations quantize to 8 bits as PIL does; autocontrast and equalize work
// per channel; geometric ones sample bilinearly about the image centre with 0 outside.

// total: planes (n c) for augmix_op, values (n c h w) for augmix_mix.
struct Params { total: u32, c: u32, h: u32, w: u32, chain: u32, step: u32, depth: u32, geometric: u32,
                seed: u32, severity: f32, width: u32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;          // augmix_op: the step's input; augmix_mix: chain k
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;    // augmix_op: its output; augmix_mix: the mixture
@group(0) @binding(3) var<storage, read> x: array<f32>;            // augmix_mix: the original batch
@group(0) @binding(4) var<storage, read> weights: array<f32>;      // augmix_mix: [n, width + 1]
// augmix_op: cos, then sin, of 0 to 30 whole degrees (AugMix's rotation levels), computed in
// f64 on the CPU so that every device rotates by the same matrix.
@group(0) @binding(5) var<storage, read> trig: array<f32>;

var<workgroup> lo: array<f32, 256>;
var<workgroup> hi: array<f32, 256>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> top_level: atomic<u32>;
var<workgroup> lut: array<f32, 256>;

// A value in [0, 1] as PIL's 8-bit level.
fn level8(v: f32) -> u32 {
    return u32(clamp(v, 0.0, 1.0) * 255.0 + 0.5);
}

// The plane's pixel j under operation `op` at level `lv` (AugMix's sample_level: uniform in
// [0.1, severity]) with sign `sg`; (mn, mx) the plane's range, `lut` equalize's map.
fn apply(op: u32, base: u32, j: u32, lv: f32, sg: f32, mn: f32, mx: f32) -> f32 {
    let v = src[base + j];
    let fy = f32(j / p.w);
    let fx = f32(j % p.w);
    let cy = f32(p.h - 1u) * 0.5;
    let cx = f32(p.w - 1u) * 0.5;
    switch op {
        case 0u: {
            if (mx <= mn) { return v; }
            return clamp((v - mn) / (mx - mn), 0.0, 1.0);
        }
        case 1u: { return select(v, lut[level8(v)], lut[0] >= 0.0); }
        case 2u: {
            let bits = 4u - u32(lv * 4.0 / 10.0);
            let keep = ~((1u << (8u - bits)) - 1u) & 255u;
            return f32(level8(v) & keep) / 255.0;
        }
        case 3u: {
            let threshold = 256u - u32(lv * 256.0 / 10.0);
            let q = level8(v);
            return f32(select(q, 255u - q, q >= threshold)) / 255.0;
        }
        case 4u: {
            let degrees = min(u32(lv * 30.0 / 10.0), 30u);
            let co = trig[degrees];
            let si = sg * trig[31u + degrees];
            let dy = fy - cy;
            let dx = fx - cx;
            return sample_bilinear(base, cy + si * dx + co * dy, cx + co * dx - si * dy, 0u);
        }
        case 5u: { return sample_bilinear(base, fy, fx + sg * (lv * 0.3 / 10.0) * (fy - cy), 0u); }
        case 6u: { return sample_bilinear(base, fy + sg * (lv * 0.3 / 10.0) * (fx - cx), fx, 0u); }
        case 7u: { return sample_bilinear(base, fy, fx + sg * f32(u32(lv * f32(p.w) / 3.0 / 10.0)), 0u); }
        default: { return sample_bilinear(base, fy + sg * f32(u32(lv * f32(p.h) / 3.0 / 10.0)), fx, 0u); }
    }
}

// One step of one chain: one workgroup per plane (example, channel), p.total planes. The
// draws depend on the workgroup alone, so the per-operation work below (the range for
// autocontrast, the histogram and map for equalize) is skipped by whole workgroups while the
// barriers stay in uniform control flow.
@compute @workgroup_size(256)
fn augmix_op(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let plane = wg.y * nwg.x + wg.x;
    if (plane >= p.total) { return; }
    let e = plane / p.c;
    let hw = p.h * p.w;
    let base = plane * hw;
    let stream = 16u * p.chain + 4u * p.step;
    let depth = select(p.depth, 1u + min(u32(pcg_uniform01(p.seed, e, 16u * p.chain + 15u) * 3.0), 2u), p.depth == 0u);
    let runs = p.step < depth;
    let ops = select(4u, 9u, p.geometric == 1u);
    let op = min(u32(pcg_uniform01(p.seed, e, stream) * f32(ops)), ops - 1u);
    let lv = 0.1 + pcg_uniform01(p.seed, e, stream + 1u) * (p.severity - 0.1);
    let sg = select(1.0, -1.0, pcg_uniform01(p.seed, e, stream + 2u) < 0.5);
    let equalize = runs && op == 1u;
    atomicStore(&hist[li], 0u);
    if (li == 0u) { atomicStore(&top_level, 0u); }
    var mn = 1e30;
    var mx = -1e30;
    if (runs && op == 0u) {
        for (var j = li; j < hw; j += 256u) {
            let v = src[base + j];
            mn = min(mn, v);
            mx = max(mx, v);
        }
    }
    lo[li] = mn;
    hi[li] = mx;
    workgroupBarrier();
    if (equalize) {
        for (var j = li; j < hw; j += 256u) { atomicAdd(&hist[level8(src[base + j])], 1u); }
    }
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (li < s) {
            lo[li] = min(lo[li], lo[li + s]);
            hi[li] = max(hi[li], hi[li + s]);
        }
        workgroupBarrier();
    }
    if (equalize && atomicLoad(&hist[li]) > 0u) { atomicMax(&top_level, li); }
    workgroupBarrier();
    // PIL's equalize: step = (pixels - count of the highest level present) / 255, level q
    // maps to (pixels below q + step / 2) / step; no change where step is 0 (lut[0] < 0).
    if (equalize) {
        let eq_step = (hw - atomicLoad(&hist[atomicLoad(&top_level)])) / 255u;
        var below = 0u;
        for (var b = 0u; b < li; b++) { below += atomicLoad(&hist[b]); }
        lut[li] = select(-1.0, f32(min((below + eq_step / 2u) / max(eq_step, 1u), 255u)) / 255.0, eq_step > 0u);
    }
    workgroupBarrier();
    for (var j = li; j < hw; j += 256u) {
        dst[base + j] = select(src[base + j], apply(op, base, j, lv, sg, lo[0], hi[0]), runs);
    }
}

// dst += weights[e, k] src (chain k; k = 0 starts the sum); after the last chain, dst =
// m x + (1 - m) dst with m = weights[e, width]. weights [n, width + 1].
@compute @workgroup_size(256)
fn augmix_mix(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.total) { return; }
    let row = (i / (p.c * p.h * p.w)) * (p.width + 1u);
    var sum = weights[row + p.chain] * src[i];
    if (p.chain > 0u) { sum += dst[i]; }
    if (p.chain + 1u == p.width) {
        let m = weights[row + p.width];
        sum = m * x[i] + (1.0 - m) * sum;
    }
    dst[i] = sum;
}

// pcg_uniform01: shaders/common/pcg.wgsl; sample_bilinear: shaders/common/bilinear.wgsl.
