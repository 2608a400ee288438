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
// windows' inputs (backward): the row is found once per run rather than per element
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

// Each invocation covers a run of up to RUN column pairs of one pair of input rows: it reads
// each window's maximum position and gradient once and writes all four of its inputs (a last
// odd row or column, in no window, gets zeros).
@compute @workgroup_size(256)
fn maxpool_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) li: u32) {
    let t = (wg.y * nwg.x + wg.x) * 256u + li;    // (plane, row pair, run)
    let row_pairs = (p.h + 1u) / 2u;
    let col_pairs = (p.w + 1u) / 2u;
    let runs = (col_pairs + RUN - 1u) / RUN;
    if (t >= p.planes * row_pairs * runs) { return; }
    let px0 = (t % runs) * RUN;
    let r = t / runs;
    let oy = r % row_pairs;
    let plane = r / row_pairs;
    let y = oy * 2u;
    let row = (plane * p.h + y) * p.w;
    let second_row = y + 1u < p.h;
    for (var ox = px0; ox < min(px0 + RUN, col_pairs); ox++) {
        let x = ox * 2u;
        // The window's gradient and its maximum's offset from the window's corner: 0, 1, w
        // or w + 1 (a zero gradient where there is no window).
        var g = 0.0;
        var at = 0u;
        if (oy < p.oh && ox < p.ow) {
            let o = (plane * p.oh + oy) * p.ow + ox;
            if (!RELU || pooled[o] > 0.0) { g = src[o]; }
            at = argmax[o] - y * p.w - x;
        }
        let second_col = x + 1u < p.w;
        dst[row + x] = select(0.0, g, at == 0u);
        if (second_col) { dst[row + x + 1u] = select(0.0, g, at == 1u); }
        if (second_row) {
            dst[row + p.w + x] = select(0.0, g, at == p.w);
            if (second_col) { dst[row + p.w + x + 1u] = select(0.0, g, at == p.w + 1u); }
        }
    }
}
