// Approximate multipliers: a weight product whose operands are quantized to signed 8 bits and
// multiplied through a 256 x 256 product table (an exact or approximate multiplier's truth
// table, e.g. from EvoApprox8b), accumulated exactly in i32 and scaled back to f32.
//
// Quantization is symmetric per tensor: q = round(v / s), s = max|v| / 127 (absmax_partial,
// absmax_final, then quantize_i8). Table entry (a, b) sits at ((a & 255) << 8) | (b & 255),
// a and b in two's complement.

// arrangement: bit 0 = x stored [K, M] (im2col columns), bit 1 = y stored [N, M] (channel-major).
struct Params { m: u32, n: u32, k: u32, slot: u32, arrangement: u32, groups_y: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// absmax, quantize_i8: the values.
@group(0) @binding(1) var<storage, read> values: array<f32>;
// quantize_i8: the codes written.
@group(0) @binding(2) var<storage, read_write> codes: array<i32>;
// Per-tensor maxima of |v| by slot (lut_matmul: slot 0 = x, slot 1 = w).
@group(0) @binding(3) var<storage, read_write> maxima: array<f32>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;
@group(0) @binding(5) var<storage, read> qx: array<i32>;
@group(0) @binding(6) var<storage, read> qw: array<i32>;
@group(0) @binding(7) var<storage, read> table: array<i32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;
var<workgroup> scratch: array<f32, 256>;

fn workgroup_max(li: u32, v: f32) -> f32 {
    scratch[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) { scratch[li] = max(scratch[li], scratch[li + s]); }
        workgroupBarrier();
    }
    return scratch[0];
}

// Workgroup g: the largest |v| over elements g * WG + li, stepping by all invocations.
@compute @workgroup_size(256)
fn absmax_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var i = wg.x * WG + li; i < p.m; i += nwg.x * WG) { s = max(s, abs(values[i])); }
    let total = workgroup_max(li, s);
    if (li == 0u) { partials[wg.x] = total; }
}

// One workgroup: maxima[slot] = the largest of the first m partials.
@compute @workgroup_size(256)
fn absmax_final(@builtin(local_invocation_index) li: u32) {
    var s = 0.0;
    for (var i = li; i < p.m; i += WG) { s = max(s, partials[i]); }
    let total = workgroup_max(li, s);
    if (li == 0u) { maxima[p.slot] = total; }
}

// codes = round(v * 127 / max|v|) in [-127, 127] (0 for an all-zero tensor).
@compute @workgroup_size(256)
fn quantize_i8(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * WG + li;
    if (i >= p.m) { return; }
    let mx = maxima[p.slot];
    var q = 0.0;
    if (mx > 0.0) { q = clamp(round(values[i] * (127.0 / mx)), -127.0, 127.0); }
    codes[i] = i32(q);
}

// y[m, n] = (max|x| / 127) (max|w| / 127) sum_k table[qx[m, k], qw[n, k]]. One invocation per
// output; the sum is exact in i32 (|entries| <= 2^14, so k up to 2^17).
@compute @workgroup_size(64)
fn lut_matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let col = wg.x * 64u + li;
    let row = wg.z * p.groups_y + wg.y;
    if (col >= p.n || row >= p.m) { return; }
    let trans_x = (p.arrangement & 1u) != 0u;
    var acc = 0i;
    for (var k = 0u; k < p.k; k++) {
        var a: i32;
        if (trans_x) { a = qx[k * p.m + row]; } else { a = qx[row * p.k + k]; }
        let b = qw[col * p.k + k];
        acc += table[(u32(a & 255) << 8u) | u32(b & 255)];
    }
    let v = f32(acc) * (maxima[0] / 127.0) * (maxima[1] / 127.0);
    if ((p.arrangement & 2u) != 0u) { y[col * p.m + row] = v; } else { y[row * p.n + col] = v; }
}
