// Canny edges (MNIST-C's canny_edges: skimage.feature.canny with its defaults) of each channel
// of images x [n, c, h, w] in [0, 1], in four passes:
//
// canny_smooth:   Gaussian smoothing, sigma 1, radius 4 (scipy's truncate = 4), weights
//                 renormalised over the pixels inside the image (skimage's masked smoothing).
// canny_classify: Sobel gradients (scipy's ndimage.sobel, edges reflected), their magnitude,
//                 non-maximum suppression across the edge with the magnitudes of the two
//                 neighbours on each side interpolated as skimage does, then the double
//                 threshold: 2 (strong) at a local maximum >= high, 1 (weak) >= low, else 0.
//                 The outermost pixels are never edges (skimage erodes the mask).
// canny_grow:     one step of hysteresis: a weak pixel with a strong 8-neighbour becomes
//                 strong. The launcher runs h + w steps, so weak chains connect over that many
//                 pixels; skimage follows them to any length (exact on all but pathological,
//                 spiral-shaped weak chains).
// canny_finish:   x' = (1 - a) x + a [strong]: a = 1 is the edge map alone, as MNIST-C.

struct Params { total: u32, h: u32, w: u32, _p: u32, low: f32, high: f32, a: f32, _q: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const RADIUS: i32 = 4;

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn canny_smooth(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i32(i % p.w);
    let y = i32((i / p.w) % p.h);
    let plane = (i / (p.w * p.h)) * p.w * p.h;
    var sum = 0.0;
    var weights = 0.0;
    for (var dy = -RADIUS; dy <= RADIUS; dy++) {
        let yy = y + dy;
        if (yy < 0 || yy >= i32(p.h)) { continue; }
        for (var dx = -RADIUS; dx <= RADIUS; dx++) {
            let xx = x + dx;
            if (xx < 0 || xx >= i32(p.w)) { continue; }
            let k = exp(-0.5 * f32(dy * dy + dx * dx));
            sum += k * src[plane + u32(yy) * p.w + u32(xx)];
            weights += k;
        }
    }
    out[i] = sum / weights;
}

// Smoothed value at (y, x) of the plane, the coordinates reflected at the edges as scipy's
// mode "reflect" does (-1 -> 0, h -> h - 1).
fn smoothed(plane: u32, y: i32, x: i32) -> f32 {
    let yy = u32(clamp(y, 0, i32(p.h) - 1));
    let xx = u32(clamp(x, 0, i32(p.w) - 1));
    return aux[plane + yy * p.w + xx];
}

// Sobel gradient at (y, x): along rows (i) and along columns (j).
fn gradient(plane: u32, y: i32, x: i32) -> vec2<f32> {
    var gi = 0.0;
    var gj = 0.0;
    for (var d = -1; d <= 1; d++) {
        let k = select(1.0, 2.0, d == 0);
        gi += k * (smoothed(plane, y + 1, x + d) - smoothed(plane, y - 1, x + d));
        gj += k * (smoothed(plane, y + d, x + 1) - smoothed(plane, y + d, x - 1));
    }
    return vec2<f32>(gi, gj);
}

fn magnitude(plane: u32, y: i32, x: i32) -> f32 {
    return length(gradient(plane, y, x));
}

// Whether m is at least the magnitude interpolated between (y + a.x, x + a.y) and
// (y + b.x, x + b.y) with weight t on b.
fn above(plane: u32, y: i32, x: i32, m: f32, a: vec2<i32>, b: vec2<i32>, t: f32) -> bool {
    return magnitude(plane, y + b.x, x + b.y) * t + magnitude(plane, y + a.x, x + a.y) * (1.0 - t) <= m;
}

@compute @workgroup_size(256)
fn canny_classify(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i32(i % p.w);
    let y = i32((i / p.w) % p.h);
    let plane = (i / (p.w * p.h)) * p.w * p.h;
    if (y == 0 || x == 0 || y + 1 >= i32(p.h) || x + 1 >= i32(p.w)) {
        out[i] = 0.0;
        return;
    }
    let g = gradient(plane, y, x);
    let m = length(g);
    let ai = abs(g.x);
    let aj = abs(g.y);
    let same = (g.x >= 0.0 && g.y >= 0.0) || (g.x <= 0.0 && g.y <= 0.0);
    let opposite = (g.x <= 0.0 && g.y >= 0.0) || (g.x >= 0.0 && g.y <= 0.0);
    // skimage's four sectors in its order; where they overlap (ties) the later one decides.
    var maximum = false;
    if (opposite && ai >= aj) {
        let t = aj / ai;
        maximum = above(plane, y, x, m, vec2(-1, 0), vec2(-1, 1), t) && above(plane, y, x, m, vec2(1, 0), vec2(1, -1), t);
    } else if (opposite && ai <= aj) {
        let t = ai / aj;
        maximum = above(plane, y, x, m, vec2(0, 1), vec2(-1, 1), t) && above(plane, y, x, m, vec2(0, -1), vec2(1, -1), t);
    } else if (same && ai <= aj) {
        let t = ai / aj;
        maximum = above(plane, y, x, m, vec2(0, 1), vec2(1, 1), t) && above(plane, y, x, m, vec2(0, -1), vec2(-1, -1), t);
    } else if (same && ai >= aj) {
        let t = aj / ai;
        maximum = above(plane, y, x, m, vec2(1, 0), vec2(1, 1), t) && above(plane, y, x, m, vec2(-1, 0), vec2(-1, -1), t);
    }
    var state = 0.0;
    if (maximum && m >= p.high) {
        state = 2.0;
    } else if (maximum && m >= p.low) {
        state = 1.0;
    }
    out[i] = state;
}

@compute @workgroup_size(256)
fn canny_grow(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    var state = aux[i];
    if (state == 1.0) {
        let x = i32(i % p.w);
        let y = i32((i / p.w) % p.h);
        let plane = (i / (p.w * p.h)) * p.w * p.h;
        for (var dy = -1; dy <= 1; dy++) {
            for (var dx = -1; dx <= 1; dx++) {
                let yy = y + dy;
                let xx = x + dx;
                if (yy >= 0 && yy < i32(p.h) && xx >= 0 && xx < i32(p.w) && aux[plane + u32(yy) * p.w + u32(xx)] == 2.0) {
                    state = 2.0;
                }
            }
        }
    }
    out[i] = state;
}

@compute @workgroup_size(256)
fn canny_finish(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let edge = select(0.0, 1.0, aux[i] == 2.0);
    out[i] = clamp((1.0 - p.a) * src[i] + p.a * edge, 0.0, 1.0);
}
