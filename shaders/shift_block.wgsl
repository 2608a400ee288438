// Block corruptions of CIFAR-10-C (Hendrycks & Dietterich, 2019; make_cifar_c.py) on images
// x [n, c, h, w] in [0, 1].
//
// pixelate:      PIL's resize to dh x dw with the BOX filter, then back to h x w with BOX. The
//                windows (which source rows and columns average into each small pixel, as
//                PIL's filter support picks them) come from the launcher in `windows`: rows
//                first, (start, count) per small row, then the same per small column. BOX
//                upsampling takes the nearest small pixel, floor((y + 1/2) dh / h). Values are
//                not rounded to 8 bits between the two passes, as PIL does.
// jpeg_forward:  baseline JPEG's lossy part: samples round(255 x) (on three channels converted
//                to JFIF YCbCr and rounded, as libjpeg does; every rounding after the samples' is half up), shifted by -128, 8x8 blocks
//                (partial blocks filled by repeating the last row and column), the orthonormal
//                DCT, each coefficient rounded to a multiple of its quantisation step (the
//                luminance table, the chrominance table for Cb and Cr, scaled by quality as
//                libjpeg does; the launcher's `tables`). Chroma is not subsampled.
// jpeg_inverse:  the inverse DCT of the quantised coefficients, +128, rounded and clamped to
//                [0, 255], converted back to RGB on three channels, divided by 255.
//
// tables: luminance steps [64], chrominance steps [64], then the DCT basis
// b[x * 8 + u] = C(u) / 2 cos((2x + 1) u pi / 16), C(0) = 1 / sqrt(2), else 1.

struct Params { total: u32, c: u32, h: u32, w: u32, dh: u32, dw: u32, _p: u32, _q: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> windows: array<u32>;
@group(0) @binding(3) var<storage, read> tables: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// Rounding half up (half away from zero for quantisation), as libjpeg's fixed-point
// arithmetic does. Exact ties are common (a flat block's DC term is a multiple of 1/8): the
// nudge of 3e-4 moves the threshold off them, so f32 here and f64 in the reference agree.
fn round_up(v: f32) -> f32 {
    return floor(v + 0.5003);
}

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn pixelate(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let plane = (i / (p.w * p.h)) * p.w * p.h;
    let sy = (2u * y + 1u) * p.dh / (2u * p.h);
    let sx = (2u * x + 1u) * p.dw / (2u * p.w);
    let y0 = windows[2u * sy];
    let ny = windows[2u * sy + 1u];
    let x0 = windows[2u * p.dh + 2u * sx];
    let nx = windows[2u * p.dh + 2u * sx + 1u];
    var sum = 0.0;
    for (var yy = y0; yy < y0 + ny; yy++) {
        for (var xx = x0; xx < x0 + nx; xx++) { sum += src[plane + yy * p.w + xx]; }
    }
    out[i] = sum / f32(ny * nx);
}

// The 8-bit sample of channel ch at (y, x) of example e, in JPEG's colour space.
fn sample(e: u32, ch: u32, y: u32, x: u32) -> f32 {
    let hw = p.h * p.w;
    let at = e * p.c * hw + y * p.w + x;
    if (p.c != 3u) { return round(255.0 * src[at + ch * hw]); }
    let r = round(255.0 * src[at]);
    let g = round(255.0 * src[at + hw]);
    let b = round(255.0 * src[at + 2u * hw]);
    var v = 0.299 * r + 0.587 * g + 0.114 * b;
    if (ch == 1u) { v = -0.168736 * r - 0.331264 * g + 0.5 * b + 128.0; }
    if (ch == 2u) { v = 0.5 * r - 0.418688 * g - 0.081312 * b + 128.0; }
    return clamp(round_up(v), 0.0, 255.0);
}

// The quantisation step of frequency k (v * 8 + u) for channel ch.
fn step(ch: u32, k: u32) -> f32 {
    return tables[select(0u, 64u, p.c == 3u && ch > 0u) + k];
}

@compute @workgroup_size(256)
fn jpeg_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    // Coefficients [n, c, H, W], H and W rounded up to whole blocks.
    let bh = (p.h + 7u) / 8u * 8u;
    let bw = (p.w + 7u) / 8u * 8u;
    if (i >= p.total) { return; }
    let cx = i % bw;
    let cy = (i / bw) % bh;
    let ch = (i / (bw * bh)) % p.c;
    let e = i / (bw * bh * p.c);
    let u = cx % 8u;
    let v = cy % 8u;
    var f = 0.0;
    for (var y = 0u; y < 8u; y++) {
        let yy = min(cy - v + y, p.h - 1u);
        var row = 0.0;
        for (var x = 0u; x < 8u; x++) {
            row += (sample(e, ch, yy, min(cx - u + x, p.w - 1u)) - 128.0) * tables[128u + x * 8u + u];
        }
        f += row * tables[128u + y * 8u + v];
    }
    let q = step(ch, v * 8u + u);
    out[i] = sign(f) * round_up(abs(f) / q) * q;
}

// Channel ch of the decoded 8-bit sample at (y, x) of example e, in JPEG's colour space.
fn decoded(e: u32, ch: u32, y: u32, x: u32) -> f32 {
    let bh = (p.h + 7u) / 8u * 8u;
    let bw = (p.w + 7u) / 8u * 8u;
    let block = (e * p.c + ch) * bh * bw + (y - y % 8u) * bw + (x - x % 8u);
    var f = 0.0;
    for (var v = 0u; v < 8u; v++) {
        var row = 0.0;
        for (var u = 0u; u < 8u; u++) {
            row += coef[block + v * bw + u] * tables[128u + (x % 8u) * 8u + u];
        }
        f += row * tables[128u + (y % 8u) * 8u + v];
    }
    return clamp(round_up(f + 128.0), 0.0, 255.0);
}

@compute @workgroup_size(256)
fn jpeg_inverse(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let ch = (i / (p.w * p.h)) % p.c;
    let e = i / (p.w * p.h * p.c);
    var v = 0.0;
    if (p.c != 3u) {
        v = decoded(e, ch, y, x);
    } else {
        let luma = decoded(e, 0u, y, x);
        let cb = decoded(e, 1u, y, x) - 128.0;
        let cr = decoded(e, 2u, y, x) - 128.0;
        v = luma + 1.402 * cr;
        if (ch == 1u) { v = luma - 0.344136 * cb - 0.714136 * cr; }
        if (ch == 2u) { v = luma + 1.772 * cb; }
    }
    out[i] = clamp(round_up(v), 0.0, 255.0) / 255.0;
}
