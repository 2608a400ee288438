// Inverted dropout: dst[i] = src[i] / (1 - rate) where element i is kept, 0 where it is
// dropped. Element i is dropped when pcg_uniform01(seed, i, 0) < rate, so the backward pass
// draws the same mask from the same seed (src = dy, dst = dx) and nothing is stored.

struct Params { n: u32, seed: u32, rate: f32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn dropout(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    let keep = pcg_uniform01(p.seed, i, 0u) >= p.rate;
    dst[i] = select(0.0, src[i] / (1.0 - p.rate), keep);
}

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.
