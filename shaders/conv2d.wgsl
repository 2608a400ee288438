// Layout kernels that turn conv2d into matrix products (the products run in matmul.wgsl):
//   forward:  cols = im2col(x)                 [C*KH*KW, N*OH*OW]
//             y_cnhw = W[CO, C*KH*KW] * cols   [CO, N*OH*OW]  -> cnhw_to_nchw -> y [N, CO, OH, OW]
//   backward: dy_cnhw = nchw_to_cnhw(dy)
//             dW = dy_cnhw * cols^T,  dcols = W^T * dy_cnhw,  dx = col2im(dcols)
// col2im gathers (each input pixel sums the columns that read it) rather than scattering, so
// it needs no atomics.

struct Params {
    n: u32, c: u32, h: u32, w: u32,        // input (or, for the permutes, [n, c, h*w] with h*w in h)
    kh: u32, kw: u32, stride: u32, pad: u32,
    oh: u32, ow: u32, rows: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// ROW_MAP: im2col fills only p.rows rows, row i being patch row row_map[i] (zeros for NONE);
// col2im reads patch row r from row row_map[r] of its input (skipped for NONE). A convolution
// whose block-sparse weights read only some patch rows needs only those.
// KEPT: im2col fills p.rows = keep * kh * kw rows per image, the patch rows of the channels
// row_map[img * keep + j] (the channels winners-take-all kept, see channel_skip.wgsl); col2im
// reads such rows and writes only the kept channels of dx (the caller zeroes the others).
@group(0) @binding(3) var<storage, read> row_map: array<u32>;
override ROW_MAP: bool = false;
override KEPT: bool = false;
const NONE: u32 = 0xffffffffu;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// Each invocation of im2col fills a run of up to RUN columns with (row, img, oy) fixed, each of
// col2im a run of up to RUN pixels of one image row, and each of the permutes a run of up to
// RUN positions of one (image, channel) plane: the index arithmetic is done once
// per run rather than per element (integer division has no SIMD form on CPU adapters), runs
// stay short enough for llvmpipe's per-invocation loop limit, and the stride is a pipeline
// constant, so its divisions fold.
override STRIDE: u32 = 1u;
const RUN: u32 = 32u;

@compute @workgroup_size(256)
fn im2col(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);    // (row, img, oy, run)
    let runs = (p.ow + RUN - 1u) / RUN;
    var rows = p.c * p.kh * p.kw;
    if (ROW_MAP || KEPT) { rows = p.rows; }
    if (t >= rows * p.n * p.oh * runs) { return; }
    let ox0 = (t % runs) * RUN;
    let r = t / runs;
    let oy = r % p.oh;
    let img = (r / p.oh) % p.n;
    let out_row = r / (p.oh * p.n);
    let out = out_row * (p.n * p.oh * p.ow) + (img * p.oh + oy) * p.ow;
    var row = out_row;            // (c, ky, kx)
    if (KEPT) {
        let taps = p.kh * p.kw;
        row = row_map[img * (p.rows / taps) + out_row / taps] * taps + out_row % taps;
    }
    if (ROW_MAP) {
        row = row_map[out_row];
        if (row == NONE) {
            for (var ox = ox0; ox < min(ox0 + RUN, p.ow); ox++) { dst[out + ox] = 0.0; }
            return;
        }
    }
    let kx = row % p.kw;
    let ky = (row / p.kw) % p.kh;
    let ch = row / (p.kw * p.kh);
    let y = i32(oy * STRIDE + ky) - i32(p.pad);
    let y_ok = y >= 0 && y < i32(p.h);
    let src_row = ((img * p.c + ch) * p.h + u32(max(y, 0))) * p.w;
    for (var ox = ox0; ox < min(ox0 + RUN, p.ow); ox++) {
        let x = i32(ox * STRIDE + kx) - i32(p.pad);
        var v = 0.0;
        if (y_ok && x >= 0 && x < i32(p.w)) { v = src[src_row + u32(x)]; }
        dst[out + ox] = v;
    }
}

@compute @workgroup_size(256)
fn col2im(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);    // (img, slot, y, run); the slot is the channel unless KEPT
    let runs = (p.w + RUN - 1u) / RUN;
    var slots = p.c;
    if (KEPT) { slots = p.rows / (p.kh * p.kw); }
    if (t >= p.n * slots * p.h * runs) { return; }
    let x0 = (t % runs) * RUN;
    let y = (t / runs) % p.h;
    let slot = (t / (runs * p.h)) % slots;
    let img = t / (runs * p.h * slots);
    var ch = slot;
    if (KEPT) { ch = row_map[img * slots + slot]; }
    let r = (img * p.c + ch) * p.h + y;   // the image row written
    let ncols = p.n * p.oh * p.ow;
    if (ROW_MAP) {
        // A channel none of whose patch rows is read gets no gradient: zeros, without
        // looking up its rows pixel by pixel.
        var read = false;
        for (var q = 0u; q < p.kh * p.kw; q++) { read = read || row_map[ch * p.kh * p.kw + q] != NONE; }
        if (!read) {
            for (var x = x0; x < min(x0 + RUN, p.w); x++) { dst[r * p.w + x] = 0.0; }
            return;
        }
    }
    for (var x = x0; x < min(x0 + RUN, p.w); x++) {
        var s = 0.0;
        for (var ky = 0u; ky < p.kh; ky++) {
            let ty = i32(y + p.pad) - i32(ky);
            if (ty < 0 || u32(ty) % STRIDE != 0u) { continue; }
            let oy = u32(ty) / STRIDE;
            if (oy >= p.oh) { continue; }
            for (var kx = 0u; kx < p.kw; kx++) {
                let tx = i32(x + p.pad) - i32(kx);
                if (tx < 0 || u32(tx) % STRIDE != 0u) { continue; }
                let ox = u32(tx) / STRIDE;
                if (ox >= p.ow) { continue; }
                var row = (slot * p.kh + ky) * p.kw + kx;
                if (ROW_MAP) {
                    row = row_map[row];
                    if (row == NONE) { continue; }
                }
                s += src[row * ncols + (img * p.oh + oy) * p.ow + ox];
            }
        }
        dst[r * p.w + x] = s;
    }
}

// [C, N, HW] -> [N, C, HW]; here c = channels, n = batch, h = H*W.
@compute @workgroup_size(256)
fn cnhw_to_nchw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);    // (img, ch, run)
    let runs = (p.h + RUN - 1u) / RUN;
    if (t >= p.n * p.c * runs) { return; }
    let q0 = (t % runs) * RUN;
    let r = t / runs;
    let ch = r % p.c;
    let img = r / p.c;
    let at = (ch * p.n + img) * p.h;
    for (var q = q0; q < min(q0 + RUN, p.h); q++) { dst[r * p.h + q] = src[at + q]; }
}

// [N, C, HW] -> [C, N, HW].
@compute @workgroup_size(256)
fn nchw_to_cnhw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let t = flat(wg, nwg, li);    // (ch, img, run)
    let runs = (p.h + RUN - 1u) / RUN;
    if (t >= p.n * p.c * runs) { return; }
    let q0 = (t % runs) * RUN;
    let r = t / runs;
    let img = r % p.n;
    let ch = r / p.n;
    let at = (img * p.c + ch) * p.h;
    for (var q = q0; q < min(q0 + RUN, p.h); q++) { dst[r * p.h + q] = src[at + q]; }
}
