
// ---- shaders/common/channel_sum.wgsl (appended by src/kernels/shaders.rs) -----------------

// Per-channel reductions over an [n, c, hw] tensor, one workgroup of WG threads per channel
// (batchnorm.wgsl, batchnorm_backward.wgsl, whose Params hold n, c and hw).

var<workgroup> partial: array<f32, WG>;

// The workgroup's sum of v; every thread gets it. The closing barrier lets the next call
// reuse the scratch.
fn channel_sum(li: u32, v: f32) -> f32 {
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

// Element e (0 <= e < n * hw) of channel ch.
fn at(ch: u32, e: u32) -> u32 {
    return ((e / p.hw) * p.c + ch) * p.hw + e % p.hw;
}
