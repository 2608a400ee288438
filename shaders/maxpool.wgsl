// 2x2 max-pool with stride 2 over NCHW planes (odd sizes drop the last row/column, as PyTorch).
// Forward records the flat in-plane index of each window's maximum (the first one on ties);
// backward routes each output gradient to that position. Windows do not overlap, so every
// input receives at most one gradient and no atomics are needed.

struct Params { planes: u32, h: u32, w: u32, oh: u32, ow: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;          // forward: x; backward: dy
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;    // forward: y; backward: dx
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>; // per output element

@compute @workgroup_size(256)
fn maxpool_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.planes * p.oh * p.ow) { return; }
    let plane = i / (p.oh * p.ow);
    let o = i % (p.oh * p.ow);
    let y0 = (o / p.ow) * 2u;
    let x0 = (o % p.ow) * 2u;
    let base = plane * p.h * p.w;
    var best = y0 * p.w + x0;
    var best_v = src[base + best];
    for (var d = 1u; d < 4u; d++) {
        let pos = (y0 + d / 2u) * p.w + x0 + d % 2u;
        let v = src[base + pos];
        if (v > best_v) { best_v = v; best = pos; }
    }
    dst[i] = best_v;
    argmax[i] = best;
}

@compute @workgroup_size(256)
fn maxpool_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.planes * p.h * p.w) { return; }
    let plane = i / (p.h * p.w);
    let pos = i % (p.h * p.w);
    let oy = (pos / p.w) / 2u;
    let ox = (pos % p.w) / 2u;
    var g = 0.0;
    if (oy < p.oh && ox < p.ow) {
        let o = plane * p.oh * p.ow + oy * p.ow + ox;
        if (argmax[o] == pos) { g = src[o]; }
    }
    dst[i] = g;
}
