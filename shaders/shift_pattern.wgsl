// Drawn patterns of MNIST-C (Mu & Gilmer, 2019; google-research/mnist-c corruptions.py) on
// images x [n, c, h, w] in [0, 1], the same pattern on every channel:
//
// stripe:      columns x < k and x >= w - k inverted (1 - v); MNIST-C inverts k = 7 of 28.
// dotted_line: k lines across the image, each from (row r0, column 0) to (r1, w - 1), r0 and
//              r1 drawn in [0, h - 2], with every other pair of columns blanked.
// zigzag:      k zigzags, each from column 2 to w - 3 about the line (r0, 2) -> (r0 + o, w - 3),
//              o in [-5, 4]: teeth of length and height 2 along the line, drawn as segments.
//
// A segment from (c0, r0) to (c1, r1) is drawn as MNIST-C's line_from_points does: at vertical
// distance t from the line a pixel gets clip(log(1 - t / 2.3) + 1, 0, 1), only in columns
// floor(c0) <= x < ceil(c1). Lines are added to the image and the sum clipped to [0, 1].
// Example e's lines draw from (seed, e, line, stream).

struct Params { total: u32, c: u32, h: u32, w: u32, seed: u32, k: u32, _p: u32, _q: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// Draw `stream` of line `line` of example e, uniform in [0, 1).
fn draw(e: u32, line: u32, stream: u32) -> f32 {
    return pcg_uniform01(pcg(p.seed ^ pcg(e)), line, stream);
}

// A row in [0, h - 2], as numpy's randint(0, 27) for 28 rows.
fn draw_row(e: u32, line: u32, stream: u32) -> f32 {
    return floor(draw(e, line, stream) * f32(max(p.h, 2u) - 1u));
}

// MNIST-C's line_from_points at pixel (row, col).
fn segment(c0: f32, r0: f32, c1: f32, r1: f32, row: f32, col: f32) -> f32 {
    if (c1 == c0 || col < floor(c0) || col >= ceil(c1)) { return 0.0; }
    let t = abs(row - ((r1 - r0) / (c1 - c0) * (col - c0) + r0));
    if (t >= 2.3) { return 0.0; }
    return clamp(log(1.0 - t / 2.3) + 1.0, 0.0, 1.0);
}

@compute @workgroup_size(256)
fn stripe(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = i % p.w;
    dst[i] = select(src[i], 1.0 - src[i], x < p.k || x + p.k >= p.w);
}

@compute @workgroup_size(256)
fn dotted_line(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let col = i % p.w;
    let row = f32((i / p.w) % p.h);
    let e = i / (p.c * p.h * p.w);
    var add = 0.0;
    // MNIST-C blanks columns [0, 2), [4, 6), ...: the dots are the pairs in between.
    if ((col / 2u) % 2u == 1u) {
        for (var k = 0u; k < p.k; k++) {
            add += segment(0.0, draw_row(e, k, 0u), f32(p.w - 1u), draw_row(e, k, 1u), row, f32(col));
        }
    }
    dst[i] = clamp(src[i] + add, 0.0, 1.0);
}

@compute @workgroup_size(256)
fn zigzag(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.total) { return; }
    let col = f32(i % p.w);
    let row = f32((i / p.w) % p.h);
    let e = i / (p.c * p.h * p.w);
    // Tooth length and height (MNIST-C's a and b).
    let a = 2.0;
    let b = 2.0;
    let c0 = 2.0;
    let c1 = f32(p.w) - 3.0;
    var add = 0.0;
    // Too narrow an image for one tooth: nothing is drawn.
    if (c1 - c0 >= a) {
        for (var k = 0u; k < p.k; k++) {
            let r0 = draw_row(e, k, 0u);
            let r1 = r0 + floor(draw(e, k, 1u) * 10.0) - 5.0;
            let theta = atan((r1 - r0) / (c1 - c0));
            let cs = cos(theta);
            let sn = sin(theta);
            let d = (c1 - c0) / cs;
            // Tooth tips at ((2j + 1) a, (-1)^j b) for j < teeth; past the last, MNIST-C's
            // closing point (d, b_last / (2 (d - max_c))) unless d is a whole number of teeth.
            let teeth = u32(floor((d - a) / (2.0 * a))) + 1u;
            let max_c = 2.0 * a * floor(d / (2.0 * a));
            let points = teeth + 1u + select(0u, 1u, d != max_c);
            var pc = c0;
            var pr = r0;
            for (var j = 1u; j < points; j++) {
                var u = d;
                var v = select(-b, b, (teeth - 1u) % 2u == 0u) / (2.0 * (d - max_c));
                if (j <= teeth) {
                    u = f32(2u * j - 1u) * a;
                    v = select(-b, b, (j - 1u) % 2u == 0u);
                }
                let qc = cs * u - sn * v + c0;
                let qr = sn * u + cs * v + r0;
                add += segment(pc, pr, qc, qr, row, col);
                pc = qc;
                pr = qr;
            }
        }
    }
    dst[i] = clamp(src[i] + add, 0.0, 1.0);
}

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.
