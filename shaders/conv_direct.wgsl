// Direct convolution for layers whose weights fit a 64 KiB uniform array (an image model's first
// layer; at stride 1 also cnn's second, 32 x 16 x 5 x 5):
// y [n, co, oh, ow] = w [co, c*kh*kw] * patches(x) + bias, optionally ReLU'd.
// Each invocation computes one output position for every output channel, reading its patch
// straight from the image, so neither the im2col matrix, nor the [co, n*oh*ow] product, nor
// the permute, bias and ReLU passes over it are written and read back: with a patch of 25
// those passes cost several times the arithmetic.
//   pack_weights: w -> the padded layout below, in a buffer bound as uniform by
//   conv_direct: every invocation reads the same weight at the same time, which uniform
//   memory serves best (GPUs broadcast it; llvmpipe gathers it in one instruction, where it
//   reads a storage buffer lane by lane), with no workgroup copy and barrier.
//   conv_direct_quads: the same for stride 1 and kernels up to 5 wide, four positions per
//   invocation (below); on CPU adapters reading x through uniform windows (WINDOW).
//   pack_weights with FLIP: the input gradient of a stride-1 convolution is itself a direct
//   convolution of dy (co channels) with the weights transposed to [c, co, kh, kw] and turned
//   by 180 degrees, padded by kh - 1 - pad: packed so, conv_direct_quads computes dx in NCHW
//   straight from dy, without dy's permute, the [c*kh*kw, n*oh*ow] product and col2im.
//   conv_direct_single: conv_direct_quads for one output channel (a single-channel first
//   layer's input gradient), each quad's positions in one vec4.
//   weight_grad, reduce_weight_grad: the backward pass for the weights and bias, again read
//   straight from x and dy in NCHW (stride 1, kernels up to 5x5), without im2col's columns
//   or dy's permute to [co, n*oh*ow].

// conv2d.wgsl's parameters, its `rows` field holding co here (the stride is an override) and
// its last one weight_grad's number of lanes.
struct Params {
    n: u32, c: u32, h: u32, w: u32,
    kh: u32, kw: u32, stride: u32, pad: u32,
    oh: u32, ow: u32, co: u32, lanes: u32,
    first: u32, shift: u32, lane0: u32, _q: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// pack_weights: the weights [co, c*kh*kw], row-major. conv_direct: x [n, c, h, w].
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
// pack_weights: the packed weights. conv_direct: y.
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
// Output channels are taken in parts of OUT; packed[(part * kdim + t) * 4 + q] holds
// channels part * OUT + 4q .. 4q + 3 of tap t (zero past co). 64 KiB, WebGPU's default
// limit on a uniform binding: cnn's conv2 (32 x 400 weights) and its input gradient fit.
@group(0) @binding(4) var<uniform> packed: array<vec4<f32>, 4096>;
// weight_grad: dy [n, co, oh, ow]. reduce_weight_grad: weight_grad's partial sums.
@group(0) @binding(5) var<storage, read> grad_in: array<f32>;
// reduce_weight_grad: the bias gradient [co].
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;
// weight_grad with DY_VEC4 (rows a multiple of four long): dy viewed as vec4, one load per quad.
@group(0) @binding(7) var<storage, read> dy_vec4: array<vec4<f32>>;
override DY_VEC4: bool = false;
// conv_direct_quads and weight_grad with WINDOW (CPU adapters): x's images p.first .. p.first + p.n - 1, read
// from a window of x's buffer of 64 KiB bound as a uniform, the first image at element
// p.shift. llvmpipe (Mesa 22) reads a storage buffer lane by lane, a loop with a branch per
// lane and element; a uniform buffer it reads with one gather per element. cnn's conv2 over
// 128 images: about 1.3 times as fast. Without WINDOW another 64 KiB buffer stands in
// (unread), p.first and p.shift are 0 and x comes from `src`.
@group(0) @binding(8) var<uniform> x_win: array<vec4<f32>, 4096>;
override WINDOW: bool = false;

override STRIDE: u32 = 1u;
// The kernel's size, constants so that its loops unroll.
override KH: u32 = 1u;
override KW: u32 = 1u;
// RELU: y = max(0, conv + bias), the ReLU layer that follows fused in.
override RELU: bool = false;
// FLIP (pack_weights): src holds the weights of the convolution whose input gradient this
// is, [c', co', kh, kw] with c' = p.co and co' = p.c (p describes the gradient's convolution
// over dy), packed as [p.co, p.c, kh, kw] turned by 180 degrees.
override FLIP: bool = false;

// Output channels per part (one sweep over the patch, kdim = c*kh*kw taps), accumulated in
// four vec4 registers: named, not an indexed array, which CPU adapters would keep in memory.
const OUT: u32 = 16u;
// Packed weights, 64 KiB: the launcher takes this path only for layers that fit.
const MAX_WEIGHTS: u32 = 16384u;

@compute @workgroup_size(256)
fn pack_weights(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;    // (part, t, j)
    if (i >= MAX_WEIGHTS) { return; }
    let kdim = p.c * p.kh * p.kw;
    let o = (i / (OUT * kdim)) * OUT + i % OUT;
    let t = (i / OUT) % kdim;
    var v = 0.0;
    if (o < p.co && t < kdim) {
        if (FLIP) {
            let taps = p.kh * p.kw;
            let ch = t / taps;
            let turned = taps - 1u - t % taps;    // (kh - 1 - ky, kw - 1 - kx)
            v = src[(ch * p.co + o) * taps + turned];
        } else {
            v = src[o * kdim + t];
        }
    }
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

// conv_direct_quads: conv_direct for stride 1 and kernels up to 5 wide, each invocation four
// positions along a row (a quad) so that one kernel row's 8 input values serve all four:
// 10 loads per position where conv_direct makes 25 for a 5x5 kernel. Accumulator m{i}
// holds position i's 16 channels of the part, column j channels 4j .. 4j + 3.

// One tap: every position's channels += the tap's weights (uniform) times its input value.
fn tap(at: u32, xv: vec4<f32>, m0: ptr<function, mat4x4<f32>>, m1: ptr<function, mat4x4<f32>>,
       m2: ptr<function, mat4x4<f32>>, m3: ptr<function, mat4x4<f32>>) {
    let wt = mat4x4(packed[at], packed[at + 1u], packed[at + 2u], packed[at + 3u]);
    *m0 += wt * xv.x;
    *m1 += wt * xv.y;
    *m2 += wt * xv.z;
    *m3 += wt * xv.w;
}

// x at element i of its image's rows (from the window with WINDOW).
fn x_load(i: u32) -> f32 {
    if (WINDOW) { return x_win[i / 4u][i % 4u]; }
    return src[i];
}

// The eight inputs from column c0 of a row (the first element's index) that a kernel row of up
// to five taps reads for a quad, zero in the padding; those past KW + 3 are not read.
struct Run { lo: vec4<f32>, hi: vec4<f32> }

fn x_run(row: u32, c0: i32) -> Run {
    var r: Run;
    r.lo = vec4(x_in_row(row, c0), x_in_row(row, c0 + 1), x_in_row(row, c0 + 2), x_in_row(row, c0 + 3));
    if (KW > 1u) { r.hi.x = x_in_row(row, c0 + 4); }
    if (KW > 2u) { r.hi.y = x_in_row(row, c0 + 5); }
    if (KW > 3u) { r.hi.z = x_in_row(row, c0 + 6); }
    if (KW > 4u) { r.hi.w = x_in_row(row, c0 + 7); }
    return r;
}

// x at column `col` of the row whose first element is `row`, zero in the padding.
fn x_in_row(row: u32, col: i32) -> f32 {
    let ok = col >= 0 && col < i32(p.w);
    return select(0.0, x_load(row + u32(select(0, col, ok))), ok);
}

// One kernel row's taps over a quad's run.
fn kernel_row(at: u32, r: Run, m0: ptr<function, mat4x4<f32>>, m1: ptr<function, mat4x4<f32>>,
              m2: ptr<function, mat4x4<f32>>, m3: ptr<function, mat4x4<f32>>) {
    tap(at, r.lo, m0, m1, m2, m3);
    if (KW > 1u) { tap(at + 4u, vec4(r.lo.yzw, r.hi.x), m0, m1, m2, m3); }
    if (KW > 2u) { tap(at + 8u, vec4(r.lo.zw, r.hi.xy), m0, m1, m2, m3); }
    if (KW > 3u) { tap(at + 12u, vec4(r.lo.w, r.hi.xyz), m0, m1, m2, m3); }
    if (KW > 4u) { tap(at + 16u, r.hi, m0, m1, m2, m3); }
}

// Position ox0 + i's channels o .. o + 15 (those below co), if the position is in the row.
fn store_position(o: u32, at: u32, i: u32, ox0: u32, m: mat4x4<f32>) {
    if (ox0 + i >= p.ow) { return; }
    let hw = p.oh * p.ow;
    for (var j = 0u; j < 4u; j++) {
        let col = m[j];
        for (var q = 0u; q < 4u; q++) {
            let ch = o + 4u * j + q;
            store(ch, at + i + ch * hw, col[q]);
        }
    }
}

// Lanes per workgroup of conv_direct_quads and conv_direct_single: 256, or with WINDOW (a launch
// per window of one to a few images, a few hundred quads) 32, so that the launch still spreads
// over several workgroups and a CPU adapter's cores.
override QUADS_WG: u32 = 256u;

// A lane's quad: positions ox0 .. ox0 + 3 of row oy of the launch's image img; `ok` is false
// past the launch's last quad.
struct QuadAt { img: u32, oy: u32, ox0: u32, ok: bool }

fn quad_at(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> QuadAt {
    let quad = (wg.y * nwg.x + wg.x) * QUADS_WG + li;    // (img, oy, quad of ox)
    let quads_per_row = (p.ow + QUAD - 1u) / QUAD;
    return QuadAt(quad / (quads_per_row * p.oh), (quad / quads_per_row) % p.oh, (quad % quads_per_row) * QUAD,
                  quad < p.n * p.oh * quads_per_row);
}

@compute @workgroup_size(QUADS_WG)
fn conv_direct_quads(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) li: u32) {
    let q = quad_at(wg, nwg, li);
    if (!q.ok) { return; }
    let img = q.img; let oy = q.oy; let ox0 = q.ox0;
    let kdim = p.c * KH * KW;
    let c0 = i32(ox0) - i32(p.pad);
    let out0 = (p.first + img) * p.co * p.oh * p.ow + oy * p.ow + ox0;
    for (var part = 0u; part * OUT < p.co; part++) {
        var m0 = mat4x4<f32>(); var m1 = mat4x4<f32>(); var m2 = mat4x4<f32>(); var m3 = mat4x4<f32>();
        var at = part * kdim * 4u;
        for (var ch = 0u; ch < p.c; ch++) {
            for (var ky = 0u; ky < KH; ky++) {
                let yy = i32(oy + ky) - i32(p.pad);
                // Rows in the padding add nothing.
                if (yy >= 0 && yy < i32(p.h)) {
                    let row = ((img * p.c + ch) * p.h + u32(yy)) * p.w;
                    kernel_row(at, x_run(p.shift + row, c0), &m0, &m1, &m2, &m3);
                }
                at += KW * 4u;
            }
        }
        let o = part * OUT;
        store_position(o, out0, 0u, ox0, m0);
        store_position(o, out0, 1u, ox0, m1);
        store_position(o, out0, 2u, ox0, m2);
        store_position(o, out0, 3u, ox0, m3);
    }
}

// conv_direct_single: conv_direct_quads for one output channel: the input gradient of a
// single-channel first layer (MNIST's), where parts of 16 channels would compute 16 sums for
// the one wanted (cnn's conv1: even parts of 4 took twice as long as im2col's product and
// col2im). A quad's four positions accumulate in one vec4 from the same kernel-row runs, with
// the first channel of the packed weights (packed[t * 4].x, the same for every lane).
@compute @workgroup_size(QUADS_WG)
fn conv_direct_single(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) li: u32) {
    let q = quad_at(wg, nwg, li);
    if (!q.ok) { return; }
    let img = q.img; let oy = q.oy; let ox0 = q.ox0;
    let c0 = i32(ox0) - i32(p.pad);
    var acc = vec4(0.0);
    var t = 0u;    // the tap (ch, ky, 0)
    for (var ch = 0u; ch < p.c; ch++) {
        for (var ky = 0u; ky < KH; ky++) {
            let yy = i32(oy + ky) - i32(p.pad);
            if (yy >= 0 && yy < i32(p.h)) {
                let r = x_run(p.shift + ((img * p.c + ch) * p.h + u32(yy)) * p.w, c0);
                acc += r.lo * packed[t * 4u].x;
                if (KW > 1u) { acc += vec4(r.lo.yzw, r.hi.x) * packed[(t + 1u) * 4u].x; }
                if (KW > 2u) { acc += vec4(r.lo.zw, r.hi.xy) * packed[(t + 2u) * 4u].x; }
                if (KW > 3u) { acc += vec4(r.lo.w, r.hi.xyz) * packed[(t + 3u) * 4u].x; }
                if (KW > 4u) { acc += r.hi * packed[(t + 4u) * 4u].x; }
            }
            t += KW;
        }
    }
    let out0 = (p.first + img) * p.oh * p.ow + oy * p.ow + ox0;
    for (var j = 0u; j < QUAD; j++) {
        if (ox0 + j < p.ow) { store(0u, out0 + j, acc[j]); }
    }
}

// ---- weight and bias gradients ---------------------------------------------------------------
// dw[o, (ch, ky, kx)] = sum over (img, oy, ox) of dy[img, o, oy, ox] * x[img, ch, oy + ky - pad,
// ox + kx - pad] and dbias[o] = sum of dy[img, o, ...]. Each lane takes runs of four positions
// along a row (a quad) and one part, four output channels g*4.. of one input channel ch
// (part = g * c + ch), and sums all of the part's 5x5 taps at once: per quad it loads four dy
// vectors and eight x values per kernel row, then does 25 vec4 x mat4x4 products, about 16
// multiply-adds per value loaded. The lanes' sums go to partial[(part * SLOTS + slot) * 4 +
// j][lane] (slot ky*5 + kx, or BIAS_SLOT) for reduce_weight_grad to add up.

const QUAD: u32 = 4u;
const BIAS_SLOT: u32 = 25u;
const SLOTS: u32 = 26u;
const GRAD_LANES: u32 = 64u;

// One kernel row's five taps: a{kx} (channels' sums for tap kx) += dot(x run at kx, dy).
fn add_row(row: u32, c0: i32, dy: mat4x4<f32>,
           a0: ptr<function, vec4<f32>>, a1: ptr<function, vec4<f32>>, a2: ptr<function, vec4<f32>>,
           a3: ptr<function, vec4<f32>>, a4: ptr<function, vec4<f32>>) {
    let r0 = x_in_row(row, c0); let r1 = x_in_row(row, c0 + 1); let r2 = x_in_row(row, c0 + 2); let r3 = x_in_row(row, c0 + 3);
    // v * M is the vector of dot(v, column j of M): channel j's sum over the quad.
    *a0 += vec4(r0, r1, r2, r3) * dy;
    if (KW > 1u) { let r4 = x_in_row(row, c0 + 4); *a1 += vec4(r1, r2, r3, r4) * dy;
    if (KW > 2u) { let r5 = x_in_row(row, c0 + 5); *a2 += vec4(r2, r3, r4, r5) * dy;
    if (KW > 3u) { let r6 = x_in_row(row, c0 + 6); *a3 += vec4(r3, r4, r5, r6) * dy;
    if (KW > 4u) { let r7 = x_in_row(row, c0 + 7); *a4 += vec4(r4, r5, r6, r7) * dy; } } } }
}

// dy[img, o, oy, ox0 .. ox0 + 3], zero past the row or past co.
fn dy_quad(img: u32, o: u32, oy: u32, ox0: u32) -> vec4<f32> {
    var v = vec4(0.0);
    if (o < p.co) {
        let at = ((img * p.co + o) * p.oh + oy) * p.ow;
        if (DY_VEC4) { return dy_vec4[(at + ox0) / 4u]; }
        for (var j = 0u; j < QUAD; j++) {
            let ok = ox0 + j < p.ow;
            v[j] = select(0.0, grad_in[at + select(0u, ox0 + j, ok)], ok);
        }
    }
    return v;
}

fn store_slot(part: u32, slot: u32, lane: u32, v: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        dst[((part * SLOTS + slot) * 4u + j) * p.lanes + p.lane0 + lane] = v[j];
    }
}

// Lanes per workgroup of weight_grad: GRAD_LANES, or with WINDOW (a launch per window of a few
// images) a SIMD group's 8, so that each lane still takes a run of quads.
override GRAD_WG: u32 = GRAD_LANES;

@compute @workgroup_size(GRAD_WG)
fn weight_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    // This launch's lane; its sums go to lane p.lane0 + lane of p.lanes.
    let lane = wg.x * GRAD_WG + li;
    let lanes = nwg.x * GRAD_WG;
    let part = wg.y;
    let g = part / p.c;
    let ch = part % p.c;
    let quads_per_row = (p.ow + QUAD - 1u) / QUAD;
    let quads = p.n * p.oh * quads_per_row;
    var a00 = vec4(0.0); var a01 = vec4(0.0); var a02 = vec4(0.0); var a03 = vec4(0.0); var a04 = vec4(0.0);
    var a10 = vec4(0.0); var a11 = vec4(0.0); var a12 = vec4(0.0); var a13 = vec4(0.0); var a14 = vec4(0.0);
    var a20 = vec4(0.0); var a21 = vec4(0.0); var a22 = vec4(0.0); var a23 = vec4(0.0); var a24 = vec4(0.0);
    var a30 = vec4(0.0); var a31 = vec4(0.0); var a32 = vec4(0.0); var a33 = vec4(0.0); var a34 = vec4(0.0);
    var a40 = vec4(0.0); var a41 = vec4(0.0); var a42 = vec4(0.0); var a43 = vec4(0.0); var a44 = vec4(0.0);
    var bsum = vec4(0.0);
    // The lane's quad (img, oy, qx) and the step of `lanes` quads in the same terms, kept
    // up by adding with carries: no integer division in the loop, which CPU adapters run
    // lane by lane.
    var qx = lane % quads_per_row;
    var oy = (lane / quads_per_row) % p.oh;
    var img = lane / (quads_per_row * p.oh);
    let step_x = lanes % quads_per_row;
    let step_y = (lanes / quads_per_row) % p.oh;
    let step_img = lanes / (quads_per_row * p.oh);
    for (var q = lane; q < quads; q += lanes) {
        let ox0 = qx * QUAD;
        let o = g * 4u;
        // Column j: output channel o + j's dy over the quad.
        let dy_img = p.first + img;
        let dy = mat4x4(dy_quad(dy_img, o, oy, ox0), dy_quad(dy_img, o + 1u, oy, ox0), dy_quad(dy_img, o + 2u, oy, ox0), dy_quad(dy_img, o + 3u, oy, ox0));
        bsum += vec4(1.0) * dy;
        let c0 = i32(ox0) - i32(p.pad);
        let y0 = i32(oy) - i32(p.pad);
        let plane = (img * p.c + ch) * p.h;
        let x0 = p.shift;
        // Rows in the padding add nothing.
        var yy = y0;
        if (yy >= 0 && yy < i32(p.h)) { add_row(x0 + (plane + u32(yy)) * p.w, c0, dy, &a00, &a01, &a02, &a03, &a04); }
        yy = y0 + 1;
        if (KH > 1u && yy >= 0 && yy < i32(p.h)) { add_row(x0 + (plane + u32(yy)) * p.w, c0, dy, &a10, &a11, &a12, &a13, &a14); }
        yy = y0 + 2;
        if (KH > 2u && yy >= 0 && yy < i32(p.h)) { add_row(x0 + (plane + u32(yy)) * p.w, c0, dy, &a20, &a21, &a22, &a23, &a24); }
        yy = y0 + 3;
        if (KH > 3u && yy >= 0 && yy < i32(p.h)) { add_row(x0 + (plane + u32(yy)) * p.w, c0, dy, &a30, &a31, &a32, &a33, &a34); }
        yy = y0 + 4;
        if (KH > 4u && yy >= 0 && yy < i32(p.h)) { add_row(x0 + (plane + u32(yy)) * p.w, c0, dy, &a40, &a41, &a42, &a43, &a44); }
        qx += step_x;
        if (qx >= quads_per_row) { qx -= quads_per_row; oy += 1u; }
        oy += step_y;
        if (oy >= p.oh) { oy -= p.oh; img += 1u; }
        img += step_img;
    }
    store_slot(part, 0u, lane, a00); store_slot(part, 1u, lane, a01); store_slot(part, 2u, lane, a02);
    store_slot(part, 3u, lane, a03); store_slot(part, 4u, lane, a04);
    store_slot(part, 5u, lane, a10); store_slot(part, 6u, lane, a11); store_slot(part, 7u, lane, a12);
    store_slot(part, 8u, lane, a13); store_slot(part, 9u, lane, a14);
    store_slot(part, 10u, lane, a20); store_slot(part, 11u, lane, a21); store_slot(part, 12u, lane, a22);
    store_slot(part, 13u, lane, a23); store_slot(part, 14u, lane, a24);
    store_slot(part, 15u, lane, a30); store_slot(part, 16u, lane, a31); store_slot(part, 17u, lane, a32);
    store_slot(part, 18u, lane, a33); store_slot(part, 19u, lane, a34);
    store_slot(part, 20u, lane, a40); store_slot(part, 21u, lane, a41); store_slot(part, 22u, lane, a42);
    store_slot(part, 23u, lane, a43); store_slot(part, 24u, lane, a44);
    store_slot(part, BIAS_SLOT, lane, bsum);
}

// One invocation per (part, slot, channel of the four): the sum over weight_grad's lanes,
// written to dw [co, c*kh*kw] (dst) or, for the bias slot of input channel 0, to dbias.
@compute @workgroup_size(64)
fn reduce_weight_grad(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let parts = (p.co + 3u) / 4u * p.c;
    if (i >= parts * SLOTS * 4u) { return; }
    let j = i % 4u;
    let slot = (i / 4u) % SLOTS;
    let part = i / (4u * SLOTS);
    let o = (part / p.c) * 4u + j;
    let ch = part % p.c;
    let ky = slot / 5u;
    let kx = slot % 5u;
    let is_bias = slot == BIAS_SLOT;
    if (o >= p.co || (is_bias && ch != 0u) || (!is_bias && (ky >= p.kh || kx >= p.kw))) { return; }
    var s = 0.0;
    for (var l = 0u; l < p.lanes; l++) {
        s += grad_in[i * p.lanes + l];
    }
    if (is_bias) {
        dbias[o] = s;
    } else {
        dst[o * p.c * p.kh * p.kw + (ch * p.kh + ky) * p.kw + kx] = s;
    }
}
