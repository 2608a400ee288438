// The register-block update of the 4x4-block product kernels (matmul, bsr, bsr_ternary,
// channel_skip), appended to each.

// acc += outer(a, b): column q of the 4x4 block is output row q.
fn outer_acc(acc: mat4x4<f32>, av: vec4<f32>, bv: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(vec4<f32>(av.x), bv, acc[0]), fma(vec4<f32>(av.y), bv, acc[1]),
                       fma(vec4<f32>(av.z), bv, acc[2]), fma(vec4<f32>(av.w), bv, acc[3]));
}
