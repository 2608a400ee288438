// The 4x4-block products of the block-sparse kernels (bsr.wgsl, bsr_ternary.wgsl), appended
// to each: the outer-product accumulation, the activation loads and the output stores. The
// shader declares `p` (with m, ni and nc), the activations `a`, the output `c`, and the
// TRANS_A and TRANS_C overrides.

// acc += outer(a, b): column q of the 4x4 block is output row q.
fn outer_acc(acc: mat4x4<f32>, av: vec4<f32>, bv: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(vec4<f32>(av.x), bv, acc[0]), fma(vec4<f32>(av.y), bv, acc[1]),
                       fma(vec4<f32>(av.z), bv, acc[2]), fma(vec4<f32>(av.w), bv, acc[3]));
}

// The activation at (row, inner); rows past M are clamped to a valid address (never stored).
fn load_a(row: u32, inner: u32) -> f32 {
    let r = min(row, p.m - 1u);
    if (TRANS_A) { return a[inner * p.m + r]; }
    return a[r * p.ni + inner];
}

fn load_a4(row: u32, inner: u32) -> vec4<f32> {
    return vec4<f32>(load_a(row, inner), load_a(row + 1u, inner), load_a(row + 2u, inner), load_a(row + 3u, inner));
}

fn store_c(row: u32, col: u32, v: f32) {
    if (row >= p.m || col >= p.nc) { return; }
    if (TRANS_C) { c[col * p.m + row] = v; } else { c[row * p.nc + col] = v; }
}

// Written out with constant indices: dynamic ones would send the accumulators to memory.
fn store_row4(row: u32, col: u32, v: vec4<f32>) {
    store_c(row, col, v.x);
    store_c(row, col + 1u, v.y);
    store_c(row, col + 2u, v.z);
    store_c(row, col + 3u, v.w);
}

fn store_block(row: u32, col: u32, blk: mat4x4<f32>) {
    store_row4(row, col, blk[0]);
    store_row4(row + 1u, col, blk[1]);
    store_row4(row + 2u, col, blk[2]);
    store_row4(row + 3u, col, blk[3]);
}
