
// ---- shaders/common/workgroup_sum.wgsl (appended by src/kernels/shaders.rs) ----------------

// A workgroup's tree reduction for shaders with WG (a power of two) threads per workgroup:
// pgd.wgsl (per-example norms), corrupt.wgsl (a norm over all weights), batchnorm.wgsl and
// batchnorm_backward.wgsl (per-channel sums), gradient_similarity.wgsl (per-example cosines).

var<workgroup> partial: array<f32, WG>;

// Sum of `v` over the workgroup; every invocation gets the total. The closing barrier lets
// the next call reuse the scratch.
fn workgroup_sum(li: u32, v: f32) -> f32 {
    partial[li] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (li < s) { partial[li] += partial[li + s]; }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}
