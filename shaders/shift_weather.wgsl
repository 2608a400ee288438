// The weather corruptions of the benchmark (src/shift) and the random fields they start from.
// Per-pixel draws come from the PCG hash keyed by (seed, example): key = pcg(seed ^ pcg(e)),
// then pcg_uniform01(key, position, stream), so the CPU reference draws the same numbers.

struct Params {
    total: u32, c: u32, h: u32, w: u32,
    per: u32, flag: u32, seed: u32, stream: u32,
    map: u32, _p0: u32, _p1: u32, _p2: u32,
    a: f32, b: f32, c2: f32, d: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// fog_mix: the plasma [n, 1, h, w]; spatter_mix: the blurred mask; snow_mix: the snow layer.
@group(0) @binding(3) var<storage, read> layer: array<f32>;
// fog_mix: (min, max) per example of the image and of the plasma.
@group(0) @binding(4) var<storage, read> range_x: array<f32>;
@group(0) @binding(5) var<storage, read> range_layer: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

fn example_key(e: u32) -> u32 {
    return pcg(p.seed ^ pcg(e));
}

// Value noise: lattice values uniform in [-1, 1] every s pixels (octave `octave`), joined by
// smoothstep, at integer pixel (y, x).
fn lattice(key: u32, octave: u32, ly: u32, lx: u32) -> f32 {
    return 2.0 * pcg_uniform01(key, lx ^ pcg(ly ^ pcg(octave)), p.stream) - 1.0;
}

fn smooth01(t: f32) -> f32 {
    return t * t * (3.0 - 2.0 * t);
}

fn value_noise(key: u32, octave: u32, y: u32, x: u32, s: u32) -> f32 {
    let ly = y / s;
    let lx = x / s;
    let ty = smooth01(f32(y % s) / f32(s));
    let tx = smooth01(f32(x % s) / f32(s));
    let top = lattice(key, octave, ly, lx) * (1.0 - tx) + lattice(key, octave, ly, lx + 1u) * tx;
    let bottom = lattice(key, octave, ly + 1u, lx) * (1.0 - tx) + lattice(key, octave, ly + 1u, lx + 1u) * tx;
    return top * (1.0 - ty) + bottom * ty;
}

// p.total values, p.per per example: uniform in [a, b) (flag 0) or normal with mean a and
// standard deviation b (flag 1; the Irwin-Hall sum of four uniforms, scaled to variance 1).
@compute @workgroup_size(256)
fn random_field(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let key = example_key(i / p.per);
    let pos = i % p.per;
    if (p.flag == 0u) {
        dst[i] = p.a + (p.b - p.a) * pcg_uniform01(key, pos, p.stream);
        return;
    }
    var s = 0.0;
    for (var j = 0u; j < 4u; j++) {
        s += pcg_uniform01(key, pos, 4u * p.stream + j);
    }
    dst[i] = p.a + p.b * ((s - 2.0) * 1.7320508);
}

// Fog's plasma [n, 1, h, w]: octaves of value noise with lattice spacings map / 2, map / 4,
// ..., 1, each p.a (= 1 / wibbledecay^2) times as strong as the one before, as the
// diamond-square displacements of the published plasma_fractal shrink.
@compute @workgroup_size(256)
fn plasma(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let key = example_key(i / (p.w * p.h));
    var amp = 1.0;
    var v = 0.0;
    var octave = 0u;
    for (var s = p.map / 2u; s >= 1u; s /= 2u) {
        v += amp * value_noise(key, octave, y, x, s);
        amp *= p.a;
        octave += 1u;
    }
    dst[i] = v;
}

var<workgroup> lo: array<f32, 256>;
var<workgroup> hi: array<f32, 256>;

// (min, max) of each example's p.per values into dst[2e], dst[2e + 1]; one workgroup per
// example, p.total examples.
@compute @workgroup_size(256)
fn example_range(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let e = wg.y * nwg.x + wg.x;
    if (e >= p.total) { return; }
    var a = 3.4e38;
    var b = -3.4e38;
    for (var j = li; j < p.per; j += 256u) {
        let v = src[e * p.per + j];
        a = min(a, v);
        b = max(b, v);
    }
    lo[li] = a;
    hi[li] = b;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (li < s) {
            lo[li] = min(lo[li], lo[li + s]);
            hi[li] = max(hi[li], hi[li + s]);
        }
        workgroupBarrier();
    }
    if (li == 0u) {
        dst[2u * e] = lo[0];
        dst[2u * e + 1u] = hi[0];
    }
}

// Fog: the plasma scaled to [0, 1] over the example, x + a plasma, rescaled by
// max(x) / (max(x) + a) as published.
@compute @workgroup_size(256)
fn fog_mix(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let hw = p.w * p.h;
    let e = i / (p.c * hw);
    let lmin = range_layer[2u * e];
    let span = range_layer[2u * e + 1u] - lmin;
    let fog = select(0.0, (layer[e * hw + i % hw] - lmin) / span, span > 0.0);
    let top = range_x[2u * e + 1u];
    dst[i] = clamp((src[i] + p.a * fog) * (top / (top + p.a)), 0.0, 1.0);
}

// Values below p.a become 0; the rest become 1 (flag 0, a mask) or stay (flag 1).
@compute @workgroup_size(256)
fn threshold_field(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let v = src[i];
    dst[i] = select(select(1.0, v, p.flag == 1u), 0.0, v < p.a);
}

// Spatter's mud: where the blurred mask m [n, 1, h, w] reaches 0.8, x (1 - m) + colour m, the
// colour (a, b, c2) per channel (a for grey-scale).
@compute @workgroup_size(256)
fn spatter_mix(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let hw = p.w * p.h;
    let ch = (i / hw) % p.c;
    var m = layer[(i / (p.c * hw)) * hw + i % hw];
    m = select(m, 0.0, m < 0.8);
    let colour = select(select(p.c2, p.b, ch == 1u), p.a, ch == 0u);
    dst[i] = clamp(src[i] * (1.0 - m) + colour * m, 0.0, 1.0);
}

// Snow: x brightened towards its grey level (a x + (1 - a) max(x, 1.5 grey + 0.5); grey is
// OpenCV's RGB2GRAY for three channels, else the channel mean) plus the snow layer and the
// layer turned by 180 degrees.
@compute @workgroup_size(256)
fn snow_mix(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let hw = p.w * p.h;
    let at = i % hw;
    let e = i / (p.c * hw);
    let base = e * p.c * hw + at;
    var grey = 0.0;
    if (p.c == 3u) {
        grey = 0.299 * src[base] + 0.587 * src[base + hw] + 0.114 * src[base + 2u * hw];
    } else {
        for (var ch = 0u; ch < p.c; ch++) {
            grey += src[base + ch * hw];
        }
        grey /= f32(p.c);
    }
    let x = src[i];
    let lit = p.a * x + (1.0 - p.a) * max(x, 1.5 * grey + 0.5);
    dst[i] = clamp(lit + layer[e * hw + at] + layer[e * hw + hw - 1u - at], 0.0, 1.0);
}

// Frost: a x + b frost(y, x) tint[ch]. The frost is procedural: ice needles (two per 8x8
// cell, random centre, angle and length, bright within 1 pixel of the needle's axis) over a
// haze of value noise.
@compute @workgroup_size(256)
fn frost(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let ch = (i / (p.w * p.h)) % p.c;
    let key = example_key(i / (p.c * p.w * p.h));
    let haze = 0.5 + 0.35 * value_noise(key, 0u, y, x, 16u) + 0.15 * value_noise(key, 1u, y, x, 4u);
    var needles = 0.0;
    let cell = 8u;
    for (var dy = 0u; dy < 3u; dy++) {
        for (var dx = 0u; dx < 3u; dx++) {
            let cy = y / cell + dy - 1u;
            let cx = x / cell + dx - 1u;
            for (var k = 0u; k < 2u; k++) {
                let pos = cx ^ pcg(cy ^ pcg(16u + k));
                let oy = (f32(i32(cy)) + pcg_uniform01(key, pos, 4u * p.stream)) * f32(cell) - f32(y);
                let ox = (f32(i32(cx)) + pcg_uniform01(key, pos, 4u * p.stream + 1u)) * f32(cell) - f32(x);
                let angle = 3.14159265 * pcg_uniform01(key, pos, 4u * p.stream + 2u);
                let half = f32(cell) * (0.3 + 0.7 * pcg_uniform01(key, pos, 4u * p.stream + 3u));
                let t = clamp(-(ox * cos(angle) + oy * sin(angle)), -half, half);
                let qx = ox + t * cos(angle);
                let qy = oy + t * sin(angle);
                needles = max(needles, max(0.0, 1.0 - sqrt(qx * qx + qy * qy)));
            }
        }
    }
    let tint = select(1.0, select(select(1.0, 0.93, ch == 1u), 0.86, ch == 0u), p.c == 3u);
    let ice = clamp(0.7 * haze + 0.4 * needles, 0.0, 1.0) * tint;
    dst[i] = clamp(p.a * src[i] + p.b * ice, 0.0, 1.0);
}

// pcg, pcg_uniform01: shaders/common/pcg.wgsl (appended when compiled).
