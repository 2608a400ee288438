// A per-channel affine map of an NCHW activation: y = x * scale[c] + shift[c], with
// affine = [scale c | shift c]. The input `normalize` layer is one ((x - mean) / std); so is
// batch normalization, its scale and shift from batchnorm.wgsl. Its backward pass is the
// same map without the shift: dx = dy * scale[c] (`channel_scale`).

struct Params { n: u32, hw: u32, c: u32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> affine: array<f32>;   // [scale c | shift c]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn channel_affine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.n) { return; }
    let c = (i / p.hw) % p.c;
    y[i] = fma(x[i], affine[c], affine[p.c + c]);
}

@compute @workgroup_size(256)
fn channel_scale(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.n) { return; }
    let c = (i / p.hw) % p.c;
    y[i] = x[i] * affine[c];
}
