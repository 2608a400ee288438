// 2x2 max-pool with stride 2 over NCHW planes (odd sizes drop the last row/column, as PyTorch).
// Forward records the flat in-plane index of each window's maximum (the first one on ties);
// backward routes each output gradient to that position. Windows do not overlap, so every
// input receives at most one gradient and no atomics are needed.

struct Params { planes: u32, h: u32, w: u32, oh: u32, ow: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;          // forward: x; backward: dy
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;    // forward: y; backward: dx
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>; // per output element
// RELU (backward): the pool reads a ReLU's output and pooled is its own output y; the ReLU's
// backward pass is fused in: a window whose maximum is 0 passes no gradient.
@group(0) @binding(4) var<storage, read> pooled: array<f32>;
override RELU: bool = false;

// Each invocation covers a run of up to RUN outputs of one output row (forward) or RUN
// inputs of one input row (backward): the row is found once per run rather than per element
// (integer division has no SIMD form on CPU adapters).
const RUN: u32 = 32u;

@compute @workgroup_size(256)
fn maxpool_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    let t = (wg.y * nwg.x + wg.x) * 256u + li;    // (plane, oy, run)
    let runs = (p.ow + RUN - 1u) / RUN;
    if (t >= p.planes * p.oh * runs) { return; }
    let ox0 = (t % runs) * RUN;
    let r = t / runs;
    let y0 = (r % p.oh) * 2u;
    let base = (r / p.oh) * p.h * p.w;
    for (var ox = ox0; ox < min(ox0 + RUN, p.ow); ox++) {
        // The window's four inputs in row-major order; ties keep the first.
        let p0 = y0 * p.w + ox * 2u;
        var best = p0;
        var best_v = src[base + p0];
        let v1 = src[base + p0 + 1u];
        if (v1 > best_v) { best_v = v1; best = p0 + 1u; }
        let v2 = src[base + p0 + p.w];
        if (v2 > best_v) { best_v = v2; best = p0 + p.w; }
        let v3 = src[base + p0 + p.w + 1u];
        if (v3 > best_v) { best_v = v3; best = p0 + p.w + 1u; }
        dst[r * p.ow + ox] = best_v;
        argmax[r * p.ow + ox] = best;
    }
}

@compute @workgroup_size(256)
fn maxpool_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) li: u32) {
    let t = (wg.y * nwg.x + wg.x) * 256u + li;    // (plane, y, run)
    let runs = (p.w + RUN - 1u) / RUN;
    if (t >= p.planes * p.h * runs) { return; }
    let x0 = (t % runs) * RUN;
    let r = t / runs;
    let y = r % p.h;
    let plane = r / p.h;
    let oy = y / 2u;
    for (var x = x0; x < min(x0 + RUN, p.w); x++) {
        let ox = x / 2u;
        var g = 0.0;
        if (oy < p.oh && ox < p.ow) {
            let o = (plane * p.oh + oy) * p.ow + ox;
            if (argmax[o] == y * p.w + x && (!RELU || pooled[o] > 0.0)) { g = src[o]; }
        }
        dst[r * p.w + x] = g;
    }
}
