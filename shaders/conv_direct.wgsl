// Direct convolution for layers with few weights (an image model's first layer, 1-3 input
// channels): y [n, co, oh, ow] = w [co, c*kh*kw] * patches(x) + bias, optionally ReLU'd.
// Each invocation computes one output position for every output channel, reading its patch
// straight from the image, so neither the im2col matrix, nor the [co, n*oh*ow] product, nor
// the permute, bias and ReLU passes over it are written and read back: with a patch of 25
// those passes cost several times the arithmetic.
//   pack_weights: w -> the padded layout below, in a buffer bound as uniform by
//   conv_direct: every invocation reads the same weight at the same time, which uniform
//   memory serves best (llvmpipe loads it once for all lanes; GPUs broadcast it), with no
//   workgroup copy and barrier.

// conv2d.wgsl's parameters, its `rows` field holding co here (the stride is an override).
struct Params {
    n: u32, c: u32, h: u32, w: u32,
    kh: u32, kw: u32, stride: u32, pad: u32,
    oh: u32, ow: u32, co: u32, _p1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// pack_weights: the weights [co, c*kh*kw], row-major. conv_direct: x [n, c, h, w].
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
// pack_weights: the packed weights. conv_direct: y.
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
// Output channels are taken in parts of OUT; packed[(part * kdim + t) * 4 + q] holds
// channels part * OUT + 4q .. 4q + 3 of tap t (zero past co).
@group(0) @binding(4) var<uniform> packed: array<vec4<f32>, 1024>;

override STRIDE: u32 = 1u;
// The kernel's size, constants so that its loops unroll.
override KH: u32 = 1u;
override KW: u32 = 1u;
// RELU: y = max(0, conv + bias), the ReLU layer that follows fused in.
override RELU: bool = false;

// Output channels per part (one sweep over the patch, kdim = c*kh*kw taps), accumulated in
// four vec4 registers: named, not an indexed array, which CPU adapters would keep in memory.
const OUT: u32 = 16u;
// Packed weights, 16 KiB: the launcher takes this path only for layers that fit.
const MAX_WEIGHTS: u32 = 4096u;

@compute @workgroup_size(256)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;    // (part, t, j)
    if (i >= MAX_WEIGHTS) { return; }
    let kdim = p.c * p.kh * p.kw;
    let o = (i / (OUT * kdim)) * OUT + i % OUT;
    let t = (i / OUT) % kdim;
    var v = 0.0;
    if (o < p.co && t < kdim) { v = src[o * kdim + t]; }
    dst[i] = v;
}

fn store(o: u32, at: u32, v: f32) {
    if (o < p.co) {
        var r = v + bias[o];
        if (RELU) { r = max(r, 0.0); }
        dst[at] = r;
    }
}

@compute @workgroup_size(256)
fn conv_direct(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let pos = (wg.y * nwg.x + wg.x) * 256u + li;    // (img, oy, ox)
    let hw = p.oh * p.ow;
    if (pos >= p.n * hw) { return; }
    let kdim = p.c * KH * KW;
    let ox = pos % p.ow;
    let oy = (pos / p.ow) % p.oh;
    let img = pos / hw;
    let y0 = i32(oy * STRIDE) - i32(p.pad);
    let x0 = i32(ox * STRIDE) - i32(p.pad);
    let out0 = img * p.co * hw + oy * p.ow + ox;
    for (var part = 0u; part * OUT < p.co; part++) {
        var a0 = vec4(0.0);
        var a1 = vec4(0.0);
        var a2 = vec4(0.0);
        var a3 = vec4(0.0);
        var at = part * kdim * 4u;
        for (var ch = 0u; ch < p.c; ch++) {
            for (var ky = 0u; ky < KH; ky++) {
                let yy = y0 + i32(ky);
                let row_ok = yy >= 0 && yy < i32(p.h);
                let row = ((img * p.c + ch) * p.h + u32(max(yy, 0))) * p.w;
                for (var kx = 0u; kx < KW; kx++) {
                    let xx = x0 + i32(kx);
                    var v = 0.0;
                    if (row_ok && xx >= 0 && xx < i32(p.w)) { v = src[row + u32(xx)]; }
                    a0 += packed[at] * v;
                    a1 += packed[at + 1u] * v;
                    a2 += packed[at + 2u] * v;
                    a3 += packed[at + 3u] * v;
                    at += 4u;
                }
            }
        }
        let o = part * OUT;
        for (var j = 0u; j < 4u; j++) {
            store(o + j, out0 + (o + j) * hw, a0[j]);
            store(o + 4u + j, out0 + (o + 4u + j) * hw, a1[j]);
            store(o + 8u + j, out0 + (o + 8u + j) * hw, a2[j]);
            store(o + 12u + j, out0 + (o + 12u + j) * hw, a3[j]);
        }
    }
}
