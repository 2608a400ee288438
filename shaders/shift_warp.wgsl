// The geometric corruptions of the benchmark (src/shift): every output pixel is read from
// the source at a mapped position, bilinearly (scikit-image's warp and scipy's
// map_coordinates at order 1, OpenCV's INTER_LINEAR). Images are [n, c, h, w].

struct Params { total: u32, c: u32, h: u32, w: u32, border: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
// affine_warp: example e's inverse map, maps[6e..6e + 6] = (a, b, tx, c, d, ty);
// displace: the displacement field [n, 2, h, w] (columns, then rows).
@group(0) @binding(3) var<storage, read> aux: array<f32>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

// dst[e, ch, y, x] = src[e, ch] at column a x + b y + tx, row c x + d y + ty (the inverse map
// of scikit-image's warp), neighbours outside by p.border.
@compute @workgroup_size(256)
fn affine_warp(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let x = f32(i % p.w);
    let y = f32((i / p.w) % p.h);
    let plane = i / (p.w * p.h);
    let m = 6u * (plane / p.c);
    let fx = aux[m] * x + aux[m + 1u] * y + aux[m + 2u];
    let fy = aux[m + 3u] * x + aux[m + 4u] * y + aux[m + 5u];
    dst[i] = clamp(sample_bilinear(plane * p.w * p.h, fy, fx, p.border), 0.0, 1.0);
}

// dst[e, ch, y, x] = src[e, ch] at (y + dy, x + dx), (dx, dy) example e's field at (y, x):
// the elastic transform's map_coordinates.
@compute @workgroup_size(256)
fn displace(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.total) { return; }
    let hw = p.w * p.h;
    let at = i % hw;
    let plane = i / hw;
    let field = 2u * (plane / p.c) * hw + at;
    let fx = f32(at % p.w) + aux[field];
    let fy = f32(at / p.w) + aux[field + hw];
    dst[i] = clamp(sample_bilinear(plane * hw, fy, fx, p.border), 0.0, 1.0);
}

// sample_bilinear: shaders/common/bilinear.wgsl (appended when compiled).
