// Argmax per row of logits [batch, classes] (the first maximum on ties) and whether it equals
// the label, written at slot offset + i of epoch-long buffers for a single readback.

struct Params { batch: u32, classes: u32, offset: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> pred: array<u32>;
@group(0) @binding(4) var<storage, read_write> correct: array<u32>;

@compute @workgroup_size(64)
fn argmax(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.batch) { return; }
    let base = i * p.classes;
    var mx = logits[base];
    var arg = 0u;
    for (var j = 1u; j < p.classes; j++) {
        let v = logits[base + j];
        if (v > mx) { mx = v; arg = j; }
    }
    pred[p.offset + i] = arg;
    correct[p.offset + i] = u32(arg == labels[i]);
}
