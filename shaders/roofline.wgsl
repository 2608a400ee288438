// The two limits of an adapter that the benchmark's roofline weighs entries against (see
// src/bench/roofline.rs): how fast it multiplies and adds, and how fast it streams memory.
//
// fma_peak: invocation i starts eight independent chains of vec4 from x[i] and runs `iters`
// steps of s = fma(s, M, C) on each (32 multiply-adds, 64 flops per step), then writes the
// chains' sum. Eight chains hide the FMA latency; nothing is loaded inside the loop, so only
// arithmetic bounds it. M < 1 and C keep every chain bounded (it converges to C / (1 - M)).
//
// stream_copy: y[i] = x[i] as vec4, one load and one store of 16 bytes per invocation; the
// launcher makes the buffers far larger than any cache.

struct Params { n: u32, iters: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;

const M: f32 = 0.999;
const C: f32 = 0.001;

@compute @workgroup_size(64)
fn fma_peak(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 64u + li;
    if (i >= p.n) { return; }
    let m = vec4<f32>(M);
    let c = vec4<f32>(C);
    let v = x[i];
    var s0 = v; var s1 = v + 1.0; var s2 = v + 2.0; var s3 = v + 3.0;
    var s4 = v - 1.0; var s5 = v - 2.0; var s6 = v - 3.0; var s7 = v * 0.5;
    for (var t = 0u; t < p.iters; t++) {
        s0 = fma(s0, m, c); s1 = fma(s1, m, c); s2 = fma(s2, m, c); s3 = fma(s3, m, c);
        s4 = fma(s4, m, c); s5 = fma(s5, m, c); s6 = fma(s6, m, c); s7 = fma(s7, m, c);
    }
    y[i] = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

@compute @workgroup_size(64)
fn stream_copy(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 64u + li;
    if (i >= p.n) { return; }
    y[i] = x[i];
}
