// AugMix (Hendrycks et al., ICLR 2020) on a batch x [n, c, h, w] of images in [0, 1]: `width`
// chains of 1 to 3 random operations each, mixed with Dirichlet weights, and the mixture
// blended with the original by a Beta draw. The launcher runs, per chain k, the steps d of
// `augmix_op` (a step past the example's depth copies); the last step adds the chain into the
// mixture with its weight instead of writing it out, and after the last chain blends the
// mixture with the original.
//
// Operations (AugMix's list without those that overlap the test corruptions, and on grey
// images without the geometric ones, which MNIST-C tests): 0 autocontrast, 1 equalize,
// 2 posterize, 3 solarize, then with p.geometric = 1: 4 rotate, 5 shear x, 6 shear y,
// 7 translate x, 8 translate y. Every example draws its own operation, level and sign per
// (chain, step) from pcg_uniform01(seed, example, stream) with stream 16 k + 4 d + {0, 1, 2}
// (operation, level, sign) and 16 k + 15 for the chain's depth; all channels of an example
// share them. Tone operations quantize to 8 bits as PIL does; autocontrast and equalize work
// per channel; geometric ones sample bilinearly about the image centre with 0 outside.
//
// Why the shape: the draws are the workgroup's alone, so whole workgroups take the same
// branch, but a CPU adapter (llvmpipe) runs every branch under a lane mask and skips only
// loops with no lane left. So each branch holds its own pixel loop, and the kernel has three
// barriers (after zeroing the histogram, which pipelines here do not zero; after the
// histogram; after the map), the work before the last (the plane's range, equalize's map)
// one thread's.

// total: planes (n c); last_step: the launcher's last step d (the chain's end).
struct Params { total: u32, c: u32, h: u32, w: u32, chain: u32, step: u32, depth: u32, geometric: u32,
                seed: u32, severity: f32, width: u32, last_step: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;          // the step's input
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;    // its output; on the last step, the mixture
@group(0) @binding(3) var<storage, read> x: array<f32>;            // the original batch
@group(0) @binding(4) var<storage, read> weights: array<f32>;      // [n, width + 1]
// augmix_op: cos, then sin, of 0 to 30 whole degrees (AugMix's rotation levels), computed in
// f64 on the CPU so that every device rotates by the same matrix.
@group(0) @binding(5) var<storage, read> trig: array<f32>;

const WG: u32 = 64u;

var<workgroup> lo: array<f32, WG>;
var<workgroup> hi: array<f32, WG>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> lut: array<f32, 256>;

// A value in [0, 1] as PIL's 8-bit level.
fn level8(v: f32) -> u32 {
    return u32(clamp(v, 0.0, 1.0) * 255.0 + 0.5);
}

// Tone operation `op` (0 to 3) at level `lv` (AugMix's sample_level: uniform in [0.1,
// severity]) on value v; (mn, mx) the plane's range, `lut` equalize's map.
fn tone(op: u32, v: f32, lv: f32, mn: f32, mx: f32) -> f32 {
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
        default: {
            let threshold = 256u - u32(lv * 256.0 / 10.0);
            let q = level8(v);
            return f32(select(q, 255u - q, q >= threshold)) / 255.0;
        }
    }
}

// The step's value r of element i (of example e): written out, or on the last step added
// into the mixture with the chain's weight, dst = m x + (1 - m) sum_k w_k chain_k after the
// last chain.
fn emit(i: u32, e: u32, r: f32) {
    if (p.step != p.last_step) {
        dst[i] = r;
        return;
    }
    let row = e * (p.width + 1u);
    var sum = weights[row + p.chain] * r;
    if (p.chain > 0u) { sum += dst[i]; }
    if (p.chain + 1u == p.width) {
        let m = weights[row + p.width];
        sum = m * x[i] + (1.0 - m) * sum;
    }
    dst[i] = sum;
}

// One step of one chain: one workgroup per plane (example, channel), p.total planes.
@compute @workgroup_size(WG)
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
    for (var q = li; q < 256u; q += WG) { atomicStore(&hist[q], 0u); }
    workgroupBarrier();
    // Each thread's part of the range (autocontrast) or of the histogram (equalize).
    var mn = 1e30;
    var mx = -1e30;
    if (runs && op == 0u) {
        for (var j = li; j < hw; j += WG) {
            let v = src[base + j];
            mn = min(mn, v);
            mx = max(mx, v);
        }
    }
    lo[li] = mn;
    hi[li] = mx;
    if (runs && op == 1u) {
        for (var j = li; j < hw; j += WG) { atomicAdd(&hist[level8(src[base + j])], 1u); }
    }
    workgroupBarrier();
    if (li == 0u && runs && op == 0u) {
        for (var t = 1u; t < WG; t++) {
            lo[0] = min(lo[0], lo[t]);
            hi[0] = max(hi[0], hi[t]);
        }
    }
    // PIL's equalize: step = (pixels - count of the highest level present) / 255, level q
    // maps to (pixels below q + step / 2) / step; no change where step is 0 (lut[0] < 0).
    if (li == 0u && runs && op == 1u) {
        var top = 0u;
        for (var q = 0u; q < 256u; q++) {
            if (atomicLoad(&hist[q]) > 0u) { top = q; }
        }
        let eq_step = (hw - atomicLoad(&hist[top])) / 255u;
        var below = 0u;
        for (var q = 0u; q < 256u; q++) {
            lut[q] = select(-1.0, f32(min((below + eq_step / 2u) / max(eq_step, 1u), 255u)) / 255.0, eq_step > 0u);
            below += atomicLoad(&hist[q]);
        }
    }
    workgroupBarrier();
    if (!runs) {
        for (var j = li; j < hw; j += WG) { emit(base + j, e, src[base + j]); }
    } else if (op < 4u) {
        let range = vec2(lo[0], hi[0]);
        for (var j = li; j < hw; j += WG) { emit(base + j, e, tone(op, src[base + j], lv, range.x, range.y)); }
    } else {
        let cy = f32(p.h - 1u) * 0.5;
        let cx = f32(p.w - 1u) * 0.5;
        let degrees = min(u32(lv * 30.0 / 10.0), 30u);
        let co = trig[degrees];
        let si = sg * trig[31u + degrees];
        let shear = sg * (lv * 0.3 / 10.0);
        let tx = sg * f32(u32(lv * f32(p.w) / 3.0 / 10.0));
        let ty = sg * f32(u32(lv * f32(p.h) / 3.0 / 10.0));
        for (var j = li; j < hw; j += WG) {
            let fy = f32(j / p.w);
            let fx = f32(j % p.w);
            var sy = fy;
            var sx = fx;
            switch op {
                case 4u: {
                    let dy = fy - cy;
                    let dx = fx - cx;
                    sy = cy + si * dx + co * dy;
                    sx = cx + co * dx - si * dy;
                }
                case 5u: { sx = fx + shear * (fy - cy); }
                case 6u: { sy = fy + shear * (fx - cx); }
                case 7u: { sx = fx + tx; }
                default: { sy = fy + ty; }
            }
            emit(base + j, e, sample_bilinear(base, sy, sx, 0u));
        }
    }
}

// pcg_uniform01: shaders/common/pcg.wgsl; sample_bilinear: shaders/common/bilinear.wgsl.
