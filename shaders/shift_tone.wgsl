// Tone corruptions of the benchmarks (`aer shift`) on images x [n, c, h, w] in [0, 1].
//
// brightness: the value channel of HSV raised by a: v' = clip(v + a, 0, 1), v = max over the
// channels; hue and saturation are kept, so every channel scales by v' / v (a black pixel,
// v = 0, becomes grey v'). On one channel this is clip(x + a, 0, 1), which is what MNIST-C's
// gray2rgb, rgb2hsv, +a, hsv2rgb, rgb2gray gives.
// contrast: each channel of each image pulled towards its own mean m: clip((x - m) a + m).

struct Params { total: u32, c: u32, hw: u32, _p: u32, a: f32, _q: f32, _r: f32, _s: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn brightness(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let pixel = i % p.hw;
    let first = (i / (p.c * p.hw)) * p.c * p.hw + pixel;
    var v = 0.0;
    for (var ch = 0u; ch < p.c; ch++) { v = max(v, src[first + ch * p.hw]); }
    let raised = clamp(v + p.a, 0.0, 1.0);
    dst[i] = select(raised, clamp(src[i] * (raised / v), 0.0, 1.0), v > 0.0);
}

@compute @workgroup_size(256)
fn contrast(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let plane = (i / p.hw) * p.hw;
    var sum = 0.0;
    for (var j = 0u; j < p.hw; j++) { sum += src[plane + j]; }
    let m = sum / f32(p.hw);
    dst[i] = clamp((src[i] - m) * p.a + m, 0.0, 1.0);
}
