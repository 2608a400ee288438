// How alike two models' input gradients are, per example, and similarity-unpairing's
// finite-difference points (docs/siblings.md). a and b are two gradient batches [n, d]: the
// sibling's input gradient (a) and the full model's (b).
//
//   row_cosine     stats[i] = (cos(a_i, b_i), |a_i|, |b_i|, 0); cos is 0 where a norm is 0.
//                  One workgroup per example, a tree reduction over the row.
//   unpair_points  points [3n, d] = [x ; x + h u ; x - h u] with u_i = b_i/|b_i| - cos_i a_i/|a_i|
//                  (|a_i| times the derivative of cos_i with respect to a_i), and per row of
//                  points a weight: clean_weight, then +-pair_weight cos_i / |a_i| (0 where
//                  |a_i| <= min_norm, whose finite differences f32 cannot resolve). One thread
//                  per element of x.
//   scale_rows     m[r, :] *= weights[r] over m [rows, cols]. One thread per element.

struct Params { n: u32, d: u32, groups_x: u32, _p0: u32, h: f32, clean_weight: f32, pair_weight: f32, min_norm: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;             // [n, d]
@group(0) @binding(2) var<storage, read> b: array<f32>;             // [n, d]
@group(0) @binding(3) var<storage, read_write> stats: array<vec4<f32>>; // [n]
@group(0) @binding(4) var<storage, read> x: array<f32>;             // [n, d]
@group(0) @binding(5) var<storage, read_write> points: array<f32>;  // [3n, d]
@group(0) @binding(6) var<storage, read_write> weights: array<f32>; // [rows]
@group(0) @binding(7) var<storage, read_write> m: array<f32>;       // [rows, d]

const WG: u32 = 256u;

// workgroup_sum: shaders/common/workgroup_sum.wgsl, appended to this file when it is compiled.

@compute @workgroup_size(256)
fn row_cosine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let row = wg.y * p.groups_x + wg.x;
    // Uniform across the workgroup, so the barriers below stay in uniform control flow.
    if (row >= p.n) { return; }
    let base = row * p.d;
    var aa = 0.0;
    var bb = 0.0;
    var ab = 0.0;
    for (var j = li; j < p.d; j += WG) {
        let va = a[base + j];
        let vb = b[base + j];
        aa += va * va;
        bb += vb * vb;
        ab += va * vb;
    }
    let na = sqrt(workgroup_sum(li, aa));
    let nb = sqrt(workgroup_sum(li, bb));
    let dot = workgroup_sum(li, ab);
    if (li == 0u) {
        var c = 0.0;
        if (na > 0.0 && nb > 0.0) { c = clamp(dot / (na * nb), -1.0, 1.0); }
        stats[row] = vec4<f32>(c, na, nb, 0.0);
    }
}

fn flat_index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

fn unit(v: f32, norm: f32) -> f32 {
    return select(0.0, v / norm, norm > 0.0);
}

@compute @workgroup_size(256)
fn unpair_points(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wg, nwg, li);
    if (i >= p.n * p.d) { return; }
    let row = i / p.d;
    let s = stats[row];
    let u = unit(b[i], s.z) - s.x * unit(a[i], s.y);
    let off = p.n * p.d;
    points[i] = x[i];
    points[off + i] = x[i] + p.h * u;
    points[2u * off + i] = x[i] - p.h * u;
    if (i % p.d == 0u) {
        let w = select(0.0, p.pair_weight * s.x / s.y, s.y > p.min_norm && s.y > 0.0);
        weights[row] = p.clean_weight;
        weights[p.n + row] = w;
        weights[2u * p.n + row] = -w;
    }
}

@compute @workgroup_size(256)
fn scale_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat_index(wg, nwg, li);
    if (i >= p.n * p.d) { return; }
    m[i] *= weights[i / p.d];
}
