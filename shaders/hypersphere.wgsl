// Hyperspherical quantization (HQ, Liu et al. 2022): before ternary training, each output
// channel's weights (a row of the weight matrix [N, K]) train on a hypersphere and are pruned,
// so that only their direction is learned; then the kept weights are reinitialised to the
// ternary point of that direction, where the cosine distance between the full-precision and
// the ternary weights is 0.
//
//   row_norms       radius[row] = ||w_row|| (the sphere each row stays on)
//   sphere_project  w_row *= radius[row] / ||w_row||, after every step (rows of zeros stay)
//   ternary_reinit  the nonzero weights of a row become sign(w) * radius / sqrt(nonzeros):
//                   the point of the sphere closest to w_row among ternary directions with
//                   the same support
//
// One workgroup per row, with a tree reduction over the row.

struct Params { n: u32, k: u32, groups_x: u32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> radius: array<f32>;

const WG: u32 = 256u;
var<workgroup> red_ss: array<f32, WG>;
var<workgroup> red_nz: array<f32, WG>;

fn row_of(wg: vec3<u32>) -> u32 {
    return wg.y * p.groups_x + wg.x;
}

// The row's squared norm and count of nonzeros; every lane gets both.
fn row_stats(base: u32, li: u32) -> vec2<f32> {
    var ss = 0.0;
    var nz = 0.0;
    for (var j = li; j < p.k; j += WG) {
        let v = w[base + j];
        ss += v * v;
        nz += select(0.0, 1.0, v != 0.0);
    }
    red_ss[li] = ss;
    red_nz[li] = nz;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (li < s) {
            red_ss[li] += red_ss[li + s];
            red_nz[li] += red_nz[li + s];
        }
    }
    workgroupBarrier();
    let out = vec2<f32>(red_ss[0], red_nz[0]);
    // Every lane has read the result before any lane may write the row.
    workgroupBarrier();
    return out;
}

@compute @workgroup_size(WG)
fn row_norms(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = row_of(wg);
    if (row >= p.n) { return; }
    let st = row_stats(row * p.k, li);
    if (li == 0u) { radius[row] = sqrt(st.x); }
}

@compute @workgroup_size(WG)
fn sphere_project(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = row_of(wg);
    if (row >= p.n) { return; }
    let base = row * p.k;
    let norm = sqrt(row_stats(base, li).x);
    if (norm == 0.0) { return; }
    let f = radius[row] / norm;
    for (var j = li; j < p.k; j += WG) {
        w[base + j] *= f;
    }
}

@compute @workgroup_size(WG)
fn ternary_reinit(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = row_of(wg);
    if (row >= p.n) { return; }
    let base = row * p.k;
    let nz = row_stats(base, li).y;
    if (nz == 0.0) { return; }
    let a = radius[row] / sqrt(nz);
    for (var j = li; j < p.k; j += WG) {
        let v = w[base + j];
        w[base + j] = select(0.0, sign(v) * a, v != 0.0);
    }
}
