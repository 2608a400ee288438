// Spectral signature of an image batch x [n, c, h, w]: the mean over its n c planes of the
// magnitude of each plane's 2-D discrete Fourier transform, |F(u, v)| with
// F(u, v) = sum_{y, x} x[y, x] exp(-2 pi i (u y / h + v x / w)), as [h, w] (frequency (0, 0)
// first, unshifted). Separable and direct (no FFT: images are at most a few dozen pixels a
// side): spectrum_rows transforms each row, spectrum_cols each column of that and takes the
// magnitude, spectrum_mean averages the planes. The twiddles come from the CPU, cos and sin
// of 2 pi k / w and 2 pi k / h computed in f64 (the GPU's own cos may be off by 2^-11), and
// the angle index (v x) mod w keeps every argument reduced exactly.

struct Params { total: u32, planes: u32, h: u32, w: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// [cos 2 pi k / w for k < w, sin 2 pi k / w, cos 2 pi k / h for k < h, sin 2 pi k / h]
@group(0) @binding(3) var<storage, read> twiddles: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// dst [planes, h, w, 2] = (re, im) of sum_x src[plane, y, x] exp(-2 pi i v x / w) at
// (plane, y, v); p.total = planes h w.
@compute @workgroup_size(256)
fn spectrum_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let v = i % p.w;
    let row = i - v;
    var re = 0.0;
    var im = 0.0;
    for (var x = 0u; x < p.w; x++) {
        let k = (v * x) % p.w;
        let value = src[row + x];
        re += value * twiddles[k];
        im -= value * twiddles[p.w + k];
    }
    dst[2u * i] = re;
    dst[2u * i + 1u] = im;
}

// dst [planes, h, w] = |sum_y R[plane, y, v] exp(-2 pi i u y / h)| at (plane, u, v), R the
// rows' transform in src; p.total = planes h w.
@compute @workgroup_size(256)
fn spectrum_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let hw = p.h * p.w;
    let v = i % p.w;
    let u = (i / p.w) % p.h;
    let base = (i / hw) * hw;
    var re = 0.0;
    var im = 0.0;
    for (var y = 0u; y < p.h; y++) {
        let k = (u * y) % p.h;
        let co = twiddles[2u * p.w + k];
        let si = twiddles[2u * p.w + p.h + k];
        let a = src[2u * (base + y * p.w + v)];
        let b = src[2u * (base + y * p.w + v) + 1u];
        re += a * co + b * si;
        im += b * co - a * si;
    }
    dst[i] = sqrt(re * re + im * im);
}

// dst [h, w] = mean over the p.planes planes of src [planes, h, w]; p.total = h w.
@compute @workgroup_size(256)
fn spectrum_mean(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    var sum = 0.0;
    for (var q = 0u; q < p.planes; q++) { sum += src[q * p.total + i]; }
    dst[i] = sum / f32(p.planes);
}
