// Data augmentation of a batch x [n, c, h, w]: per example a random crop with zero padding
// (torchvision's RandomCrop(h, padding = pad): the image shifted by (dy, dx), each uniform in
// [-pad, pad], pixels shifted in from outside are 0) followed, when p.flip is 1, by a
// horizontal flip with probability 1/2. Example e's draws depend only on (seed, e), so every
// thread of an example recomputes them and a rerun draws the same batch.
//
// dst[e, ch, y, x] = src[e, ch, y + dy, x' + dx], x' = w - 1 - x if flipped else x; 0 outside.

struct Params { total: u32, c: u32, h: u32, w: u32, pad: u32, flip: u32, seed: u32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// Example e's shift along one axis (stream 0: rows, 1: columns), in [-pad, pad]: the hash
// modulo 2 pad + 1 (biased by at most (2 pad + 1) / 2^32), as a float product may round up to
// 2 pad + 1.
fn shift(e: u32, stream: u32) -> i32 {
    return i32(pcg(e ^ pcg(p.seed ^ pcg(stream))) % (2u * p.pad + 1u)) - i32(p.pad);
}

@compute @workgroup_size(256)
fn augment(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.total) { return; }
    let x = i % p.w;
    let y = (i / p.w) % p.h;
    let plane = i / (p.w * p.h);
    let e = plane / p.c;
    let flipped = p.flip == 1u && pcg_uniform01(p.seed, e, 2u) < 0.5;
    let sy = i32(y) + shift(e, 0u);
    let sx = i32(select(x, p.w - 1u - x, flipped)) + shift(e, 1u);
    let inside = sy >= 0 && sy < i32(p.h) && sx >= 0 && sx < i32(p.w);
    // Clamped so that the read stays in the plane; the value is discarded outside.
    let j = plane * p.w * p.h + u32(clamp(sy, 0, i32(p.h) - 1)) * p.w + u32(clamp(sx, 0, i32(p.w) - 1));
    dst[i] = select(0.0, src[j], inside);
}

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.
