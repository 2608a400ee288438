// Global average pooling: y[n, c] = mean of x[n, c, :, :] (one thread per (n, c), which sums
// its hw values in order), and its backward pass dx[n, c, i] = dy[n, c] / hw.

struct Params { planes: u32, hw: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;         // forward: x; backward: dy
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;   // forward: y; backward: dx

fn index(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * 256u + li;
}

@compute @workgroup_size(256)
fn global_avgpool_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_index) li: u32) {
    let plane = index(wg, nwg, li);
    if (plane >= p.planes) { return; }
    var s = 0.0;
    for (var i = 0u; i < p.hw; i++) {
        s += src[plane * p.hw + i];
    }
    dst[plane] = s / f32(p.hw);
}

@compute @workgroup_size(256)
fn global_avgpool_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                           @builtin(local_invocation_index) li: u32) {
    let i = index(wg, nwg, li);
    if (i >= p.planes * p.hw) { return; }
    dst[i] = src[i / p.hw] / f32(p.hw);
}
