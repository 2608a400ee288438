// The classifier head over logits [batch, classes], one invocation per example: fused softmax
// cross-entropy (and its TRADES variant) for training, argmax for evaluation.
//
// softmax_xent:
// the per-example loss, whether the argmax is the label, and the gradient of the mean loss,
// (softmax - onehot) * scale with scale = 1 / batch. Loss and correctness go to slot
// offset + i of epoch-long buffers, so an epoch's metrics are read back once.

struct Params { batch: u32, classes: u32, offset: u32, scale: f32, beta: f32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> correct: array<u32>;
@group(0) @binding(6) var<storage, read_write> adv_correct: array<u32>;
@group(0) @binding(7) var<storage, read_write> pred: array<u32>;

struct RowMax { value: f32, index: u32 }

// The largest logit of the row at `base` and its class (the first one on ties).
fn row_max(base: u32) -> RowMax {
    var mx = logits[base];
    var arg = 0u;
    for (var j = 1u; j < p.classes; j++) {
        let v = logits[base + j];
        if (v > mx) { mx = v; arg = j; }
    }
    return RowMax(mx, arg);
}

// Argmax per row and whether it equals the label, at slot offset + i (evaluation).
@compute @workgroup_size(64)
fn argmax(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.batch) { return; }
    let arg = row_max(i * p.classes).index;
    pred[p.offset + i] = arg;
    correct[p.offset + i] = u32(arg == labels[i]);
}

@compute @workgroup_size(64)
fn softmax_xent(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.batch) { return; }
    let base = i * p.classes;
    let m = row_max(base);
    let mx = m.value;
    let arg = m.index;
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

// TRADES (Zhang et al., 2019) over logits [2 batch, classes]: rows 0..batch are clean, rows
// batch..2 batch their adversarial counterparts. Per example the loss is
// CE(clean, y) + beta * KL(softmax(clean) || softmax(adv)); the gradient of the mean over the
// batch flows into both halves. correct/adv_correct record both predictions.
@compute @workgroup_size(64)
fn trades_xent(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.batch) { return; }
    let bc = i * p.classes;
    let ba = (p.batch + i) * p.classes;
    let rc = row_max(bc);
    let ra = row_max(ba);
    let mc = rc.value;
    let ma = ra.value;
    let argc = rc.index;
    let arga = ra.index;
    var sc = 0.0;
    var sa = 0.0;
    for (var j = 0u; j < p.classes; j++) {
        sc += exp(logits[bc + j] - mc);
        sa += exp(logits[ba + j] - ma);
    }
    let lse_c = log(sc) + mc;
    let lse_a = log(sa) + ma;
    var kl = 0.0;
    for (var j = 0u; j < p.classes; j++) {
        let lp = logits[bc + j] - lse_c;
        kl += exp(lp) * (lp - (logits[ba + j] - lse_a));
    }
    let label = labels[i];
    loss[p.offset + i] = lse_c - logits[bc + label] + p.beta * kl;
    correct[p.offset + i] = u32(argc == label);
    adv_correct[p.offset + i] = u32(arga == label);
    for (var j = 0u; j < p.classes; j++) {
        let lp = logits[bc + j] - lse_c;
        let lq = logits[ba + j] - lse_a;
        let pj = exp(lp);
        dlogits[bc + j] = ((pj - select(0.0, 1.0, j == label)) + p.beta * pj * (lp - lq - kl)) * p.scale;
        dlogits[ba + j] = p.beta * (exp(lq) - pj) * p.scale;
    }
}
