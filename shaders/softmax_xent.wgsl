// Fused softmax cross-entropy over logits [batch, classes], one invocation per example:
// the per-example loss, whether the argmax is the label, and the gradient of the mean loss,
// (softmax - onehot) * scale with scale = 1 / batch. Loss and correctness go to slot
// offset + i of epoch-long buffers, so an epoch's metrics are read back once.

struct Params { batch: u32, classes: u32, offset: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> correct: array<u32>;

@compute @workgroup_size(64)
fn softmax_xent(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.batch) { return; }
    let base = i * p.classes;
    var mx = logits[base];
    var arg = 0u;
    for (var j = 1u; j < p.classes; j++) {
        let v = logits[base + j];
        if (v > mx) { mx = v; arg = j; }
    }
    var sum = 0.0;
    for (var j = 0u; j < p.classes; j++) { sum += exp(logits[base + j] - mx); }
    let label = labels[i];
    loss[p.offset + i] = log(sum) + mx - logits[base + label];
    correct[p.offset + i] = u32(arg == label);
    for (var j = 0u; j < p.classes; j++) {
        let prob = exp(logits[base + j] - mx) / sum;
        dlogits[base + j] = (prob - select(0.0, 1.0, j == label)) * p.scale;
    }
}
