// The blurs of the corruption benchmark (src/shift): a 2-D correlation with given taps
// (Gaussian and defocus disks), ImageMagick's one-sided motion blur along a per-example angle,
// the zoom blur of CIFAR-10-C (the mean of centre crops zoomed bilinearly), and glass blur's
// local pixel displacement. Images are [n, c, h, w]; every entry writes one output value per
// invocation.

struct Params {
    total: u32, c: u32, h: u32, w: u32,
    kh: u32, kw: u32, border: u32, flag: u32,
    seed: u32, stream: u32, delta: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> taps: array<f32>;
@group(0) @binding(4) var<storage, read> dirs: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// dst[plane, y, x] = sum over a < kh, b < kw of taps[a, b] src[plane, y + a - kh/2, x + b - kw/2]
// (kh, kw odd), outside pixels by p.border; clamped to [0, 1] when p.flag is 1 (images, not
// displacement fields).
@compute @workgroup_size(256)
fn convolve(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i32(i % p.w);
    let y = i32((i / p.w) % p.h);
    let base = (i / (p.w * p.h)) * p.w * p.h;
    var acc = 0.0;
    for (var a = 0u; a < p.kh; a++) {
        for (var b = 0u; b < p.kw; b++) {
            acc += taps[a * p.kw + b] * border_read(base, y + i32(a) - i32(p.kh / 2u), x + i32(b) - i32(p.kw / 2u), p.border);
        }
    }
    dst[i] = select(acc, clamp(acc, 0.0, 1.0), p.flag == 1u);
}

// ImageMagick's MotionBlurImage: tap k (k < kw) reads the pixel k steps along example e's
// direction (cos, sin) = dirs[2e], dirs[2e + 1], rounded as ImageMagick rounds
// (ceil(k cos - 1/2), ceil(k sin - 1/2)), edge pixels repeated outside.
@compute @workgroup_size(256)
fn motion_blur(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i32(i % p.w);
    let y = i32((i / p.w) % p.h);
    let plane = i / (p.w * p.h);
    let e = plane / p.c;
    let cs = dirs[2u * e];
    let sn = dirs[2u * e + 1u];
    var acc = 0.0;
    for (var k = 0u; k < p.kw; k++) {
        let ox = i32(ceil(f32(k) * cs - 0.5));
        let oy = i32(ceil(f32(k) * sn - 0.5));
        acc += taps[k] * border_read(plane * p.w * p.h, y + oy, x + ox, 1u);
    }
    dst[i] = clamp(acc, 0.0, 1.0);
}

// The mean of p.kw zoomed copies (plus the image itself when p.flag is 1). Zoom f reads
// (top + (o + trim) scale) along each axis from taps[6f..6f + 6] = (top, scale, trim) for rows,
// then for columns: scipy's zoom (order 1) of a centre crop, trimmed back to the image size.
@compute @workgroup_size(256)
fn zoom_blur(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = f32(i % p.w);
    let y = f32((i / p.w) % p.h);
    let base = (i / (p.w * p.h)) * p.w * p.h;
    var acc = select(0.0, src[i], p.flag == 1u);
    for (var f = 0u; f < p.kw; f++) {
        let t = 6u * f;
        acc += sample_bilinear(base, taps[t] + (y + taps[t + 2u]) * taps[t + 1u], taps[t + 3u] + (x + taps[t + 5u]) * taps[t + 4u], 1u);
    }
    dst[i] = clamp(acc / f32(p.kw + p.flag), 0.0, 1.0);
}

// One pass of glass blur's local shuffle: a pixel (y, x) with d < y <= h - d and
// d < x <= w - d (d = p.delta, the rows and columns the published loops visit) takes the
// value at (y + dy, x + dx), dy and dx uniform in [-d, d - 1] as numpy's randint(-d, d) draws
// them; when p.flag is 1 only with probability 1/2 (MNIST-C's coin). The draws depend on
// (seed, example, pixel, pass) and are shared by the channels of a pixel.
@compute @workgroup_size(256)
fn glass_shuffle(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i32(i % p.w);
    let y = i32((i / p.w) % p.h);
    let plane = i / (p.w * p.h);
    let d = i32(p.delta);
    var sy = y;
    var sx = x;
    if (y > d && y <= i32(p.h) - d && x > d && x <= i32(p.w) - d) {
        let key = pcg(p.seed ^ pcg(plane / p.c));
        let pos = u32(y) * p.w + u32(x);
        if (p.flag == 0u || pcg_uniform01(key, pos, 3u * p.stream) < 0.5) {
            sy = y + i32(pcg_uniform01(key, pos, 3u * p.stream + 1u) * f32(2 * d)) - d;
            sx = x + i32(pcg_uniform01(key, pos, 3u * p.stream + 2u) * f32(2 * d)) - d;
        }
    }
    dst[i] = src[plane * p.w * p.h + u32(sy) * p.w + u32(sx)];
}

// border_index, border_read, sample_bilinear: shaders/common/bilinear.wgsl; pcg,
// pcg_uniform01: shaders/common/pcg.wgsl (appended when compiled).
