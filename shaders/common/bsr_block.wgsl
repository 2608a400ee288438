// The 4x4-block products of the block-sparse kernels (bsr.wgsl, bsr_ternary.wgsl), appended
// to each: the activation loads and the output stores (named bsr_*: matmul.wgsl and
// channel_skip.wgsl have their own, of other shapes). The shader declares `p` (with m, ni and
// nc), the activations `a`, the output `c`, and the TRANS_A and TRANS_C overrides.

// The activation at (row, inner); rows past M are clamped to a valid address (never stored).
fn bsr_load_a(row: u32, inner: u32) -> f32 {
    let r = min(row, p.m - 1u);
    if (TRANS_A) { return a[inner * p.m + r]; }
    return a[r * p.ni + inner];
}

fn bsr_load_a4(row: u32, inner: u32) -> vec4<f32> {
    return vec4<f32>(bsr_load_a(row, inner), bsr_load_a(row + 1u, inner), bsr_load_a(row + 2u, inner), bsr_load_a(row + 3u, inner));
}

fn bsr_store_c(row: u32, col: u32, v: f32) {
    if (row >= p.m || col >= p.nc) { return; }
    if (TRANS_C) { c[col * p.m + row] = v; } else { c[row * p.nc + col] = v; }
}

// Written out with constant indices: dynamic ones would send the accumulators to memory.
fn bsr_store_row4(row: u32, col: u32, v: vec4<f32>) {
    bsr_store_c(row, col, v.x);
    bsr_store_c(row, col + 1u, v.y);
    bsr_store_c(row, col + 2u, v.z);
    bsr_store_c(row, col + 3u, v.w);
}

fn bsr_store_block(row: u32, col: u32, blk: mat4x4<f32>) {
    bsr_store_row4(row, col, blk[0]);
    bsr_store_row4(row + 1u, col, blk[1]);
    bsr_store_row4(row + 2u, col, blk[2]);
    bsr_store_row4(row + 3u, col, blk[3]);
}
