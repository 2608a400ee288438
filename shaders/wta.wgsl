// Winners-take-all activation sparsity (DASNet, Yang et al. 2019): per example, keep the KEEP
// channels (or units) of an activation [N, C, HW] with the largest L1 mass and zero the rest.
//
//   wta_select  one workgroup per example: the channels' L1 masses, each channel's rank (ties
//               go to the lower channel index, so exactly KEEP are kept), the 0/1 mask
//               [N, C] and the kept channels' indices [N, KEEP] in ascending order, which a
//               channel-skipping kernel of the next layer reads
//   wta_apply   y = x * mask[n, c] over every position: the forward pass, and the backward
//               pass with dy in place of x (the selection is piecewise constant)

struct Params { n: u32, c: u32, hw: u32, keep: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> kept: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
// wta_apply reads the mask through this read-only view (the same buffer as binding 2).
@group(0) @binding(5) var<storage, read> mask_in: array<f32>;

const WG: u32 = 256u;
// At most this many channels (4 KiB of workgroup memory each array).
const MAX_C: u32 = 1024u;
var<workgroup> score: array<f32, MAX_C>;
var<workgroup> keep_flag: array<u32, MAX_C>;

@compute @workgroup_size(WG)
fn wta_select(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let n = wg.y * nwg.x + wg.x;
    if (n >= p.n) { return; }
    for (var c = li; c < p.c; c += WG) {
        let base = (n * p.c + c) * p.hw;
        var s = 0.0;
        for (var i = 0u; i < p.hw; i++) {
            s += abs(x[base + i]);
        }
        score[c] = s;
    }
    workgroupBarrier();
    for (var c = li; c < p.c; c += WG) {
        let s = score[c];
        var rank = 0u;
        for (var d = 0u; d < p.c; d++) {
            let t = score[d];
            rank += select(0u, 1u, t > s || (t == s && d < c));
        }
        let k = rank < p.keep;
        keep_flag[c] = select(0u, 1u, k);
        mask[n * p.c + c] = select(0.0, 1.0, k);
    }
    workgroupBarrier();
    for (var c = li; c < p.c; c += WG) {
        if (keep_flag[c] == 1u) {
            var pos = 0u;
            for (var d = 0u; d < c; d++) {
                pos += keep_flag[d];
            }
            kept[n * p.keep + pos] = c;
        }
    }
}

// Each invocation of wta_apply scales a run of up to RUN positions of one (example, channel)
// row: the row and its mask are found once per run rather than per element (integer division
// has no SIMD form on CPU adapters).
const RUN: u32 = 32u;

@compute @workgroup_size(WG)
fn wta_apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let t = (wg.y * nwg.x + wg.x) * WG + li;
    let runs = (p.hw + RUN - 1u) / RUN;
    if (t >= p.n * p.c * runs) { return; }
    let row = t / runs;
    let start = (t % runs) * RUN;
    let m = mask_in[row];
    let base = row * p.hw;
    for (var i = start; i < min(start + RUN, p.hw); i++) {
        y[base + i] = x[base + i] * m;
    }
}
