// Pruning masks (1 keeps a weight, 0 prunes it). apply_mask works in place to weights, their gradients
// and optimizer state, so pruned weights and their momentum stay exactly zero. `select`
// rather than a product: a pruned entry becomes 0 even if it held inf or NaN.

// n: elements. nm_mask: k (row length), keep and group (N and M of N:M sparsity).
struct Params { n: u32, k: u32, keep: u32, group: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> mask: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(256)
fn apply_mask(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    x[i] = select(0.0, x[i], mask[i] != 0.0);
}

// x = max(x, mask): the union of two masks (prune-and-regrow adds the grown weights).
@compute @workgroup_size(256)
fn mask_union(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    x[i] = max(x[i], mask[i]);
}

// N:M sparsity (e.g. 2:4): in each group of `group` consecutive weights along a row of
// W [n / k, k] (the last group of a row may be shorter), keep the `keep` of largest
// magnitude, ties to the lower index. Here `mask` holds the weights, `x` receives the mask.
@compute @workgroup_size(256)
fn nm_mask(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    let row = i - i % p.k;
    let c = i % p.k;
    let g0 = c - c % p.group;
    let g1 = min(g0 + p.group, p.k);
    let a = abs(mask[i]);
    var rank = 0u;
    for (var j = g0; j < g1; j++) {
        let b = abs(mask[row + j]);
        if (b > a || (b == a && j < c)) { rank++; }
    }
    x[i] = select(0.0, 1.0, rank < p.keep);
}
