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
    oh: u32, ow: u32, _p0: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn im2col(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    let ncols = p.n * p.oh * p.ow;
    if (i >= p.c * p.kh * p.kw * ncols) { return; }
    let row = i / ncols;          // (c, ky, kx)
    let col = i % ncols;          // (n, oy, ox)
    let kx = row % p.kw;
    let ky = (row / p.kw) % p.kh;
    let ch = row / (p.kw * p.kh);
    let ox = col % p.ow;
    let oy = (col / p.ow) % p.oh;
    let img = col / (p.ow * p.oh);
    let y = i32(oy * p.stride + ky) - i32(p.pad);
    let x = i32(ox * p.stride + kx) - i32(p.pad);
    var v = 0.0;
    if (y >= 0 && x >= 0 && u32(y) < p.h && u32(x) < p.w) {
        v = src[((img * p.c + ch) * p.h + u32(y)) * p.w + u32(x)];
    }
    dst[i] = v;
}

@compute @workgroup_size(256)
fn col2im(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.c * p.h * p.w) { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let ch = (i / (p.w * p.h)) % p.c;
    let img = i / (p.w * p.h * p.c);
    let ncols = p.n * p.oh * p.ow;
    var s = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let ty = i32(y + p.pad) - i32(ky);
        if (ty < 0 || u32(ty) % p.stride != 0u) { continue; }
        let oy = u32(ty) / p.stride;
        if (oy >= p.oh) { continue; }
        for (var kx = 0u; kx < p.kw; kx++) {
            let tx = i32(x + p.pad) - i32(kx);
            if (tx < 0 || u32(tx) % p.stride != 0u) { continue; }
            let ox = u32(tx) / p.stride;
            if (ox >= p.ow) { continue; }
            let row = (ch * p.kh + ky) * p.kw + kx;
            s += src[row * ncols + (img * p.oh + oy) * p.ow + ox];
        }
    }
    dst[i] = s;
}

// [C, N, HW] -> [N, C, HW]; here c = channels, n = batch, h = H*W.
@compute @workgroup_size(256)
fn cnhw_to_nchw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.c * p.h) { return; }
    let q = i % p.h;
    let ch = (i / p.h) % p.c;
    let img = i / (p.h * p.c);
    dst[i] = src[(ch * p.n + img) * p.h + q];
}

// [N, C, HW] -> [C, N, HW].
@compute @workgroup_size(256)
fn nchw_to_cnhw(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.c * p.h) { return; }
    let q = i % p.h;
    let img = (i / p.h) % p.n;
    let ch = i / (p.h * p.n);
    dst[i] = src[(img * p.c + ch) * p.h + q];
}
