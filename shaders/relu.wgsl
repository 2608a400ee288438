// ReLU. Forward writes y = max(x, 0); backward masks the incoming gradient in place where the
// forward output was zero (y > 0 exactly when x > 0).

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;          // forward: x; backward: y
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;    // forward: y; backward: dy

@compute @workgroup_size(256)
fn relu_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    dst[i] = max(src[i], 0.0);
}

@compute @workgroup_size(256)
fn relu_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    dst[i] = select(0.0, dst[i], src[i] > 0.0);
}
