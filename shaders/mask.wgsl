// Pruning masks (1 keeps a weight, 0 prunes it). apply_mask works in place to weights, their gradients
// and optimizer state, so pruned weights and their momentum stay exactly zero. `select`
// rather than a product: a pruned entry becomes 0 even if it held inf or NaN.

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

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
