// The attacker's objective over logits [batch, classes], one invocation per example: the
// per-example value to maximise, its gradient with respect to the logits (unscaled: attacks
// only use its sign or direction), and whether the attack has succeeded on this example
// (untargeted: the prediction is not the label; targeted: it is the target).
//
// LOSS 0: cross-entropy. Untargeted CE(z, y); targeted -CE(z, t).
// LOSS 1: DLR (Croce & Hein, 2020). Untargeted -(z_y - max_{j!=y} z_j) / (z_p1 - z_p3);
//         targeted -(z_y - z_t) / (z_p1 - (z_p3 + z_p4) / 2), with p1 >= p2 >= ... the sorted
//         logits. Scale-invariant, so logit rescaling cannot hide the gradient.
// LOSS 2: KL(softmax(ref) || softmax(z)), the TRADES inner objective; ref = clean logits.
// LOSS 3: margin. Untargeted max_{j!=y} z_j - z_y (Square's loss, negated); targeted z_t - z_y
//         (the function whose boundary FAB-T linearises).

struct Params { batch: u32, classes: u32, _p0: u32, _p1: u32 }

override LOSS: u32 = 0u;
override TARGETED: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read> targets: array<u32>;     // = labels when untargeted
@group(0) @binding(4) var<storage, read> ref_logits: array<f32>;  // = logits unless LOSS 2
@group(0) @binding(5) var<storage, read_write> dlogits: array<f32>;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;
@group(0) @binding(7) var<storage, read_write> success: array<u32>;

fn hit(j: u32, k: u32) -> f32 { return select(0.0, 1.0, j == k); }

@compute @workgroup_size(64)
fn adv_loss(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.batch) { return; }
    let base = i * p.classes;
    let y = labels[i];
    let t = targets[i];

    // The four largest logits and their classes (scalars, not a local array: dynamic
    // indexing into function-local arrays spills on some CPU drivers).
    var v1 = -3.0e38; var v2 = -3.0e38; var v3 = -3.0e38; var v4 = -3.0e38;
    var i1 = 0u; var i2 = 0u; var i3 = 0u; var i4 = 0u;
    var other = -3.0e38;  // max over j != y
    var io = 0u;
    for (var j = 0u; j < p.classes; j++) {
        let v = logits[base + j];
        if (j != y && v > other) { other = v; io = j; }
        if (v > v1) {
            v4 = v3; i4 = i3; v3 = v2; i3 = i2; v2 = v1; i2 = i1; v1 = v; i1 = j;
        } else if (v > v2) {
            v4 = v3; i4 = i3; v3 = v2; i3 = i2; v2 = v; i2 = j;
        } else if (v > v3) {
            v4 = v3; i4 = i3; v3 = v; i3 = j;
        } else if (v > v4) {
            v4 = v; i4 = j;
        }
    }
    success[i] = select(u32(i1 != y), u32(i1 == t), TARGETED);

    if (LOSS == 0u) {
        var sum = 0.0;
        for (var j = 0u; j < p.classes; j++) { sum += exp(logits[base + j] - v1); }
        let c = select(y, t, TARGETED);
        let ce = log(sum) + v1 - logits[base + c];
        let sgn = select(1.0, -1.0, TARGETED);
        loss[i] = sgn * ce;
        for (var j = 0u; j < p.classes; j++) {
            dlogits[base + j] = sgn * (exp(logits[base + j] - v1) / sum - hit(j, c));
        }
    } else if (LOSS == 1u) {
        let zy = logits[base + y];
        if (TARGETED) {
            let zt = logits[base + t];
            let d = v1 - 0.5 * (v3 + v4) + 1e-12;
            loss[i] = -(zy - zt) / d;
            let c = (zy - zt) / (d * d);
            for (var j = 0u; j < p.classes; j++) {
                dlogits[base + j] = -(hit(j, y) - hit(j, t)) / d + c * (hit(j, i1) - 0.5 * hit(j, i3) - 0.5 * hit(j, i4));
            }
        } else {
            let d = v1 - v3 + 1e-12;
            loss[i] = -(zy - other) / d;
            let c = (zy - other) / (d * d);
            for (var j = 0u; j < p.classes; j++) {
                dlogits[base + j] = -(hit(j, y) - hit(j, io)) / d + c * (hit(j, i1) - hit(j, i3));
            }
        }
    } else if (LOSS == 3u) {
        let c = select(io, t, TARGETED);
        loss[i] = logits[base + c] - logits[base + y];
        for (var j = 0u; j < p.classes; j++) {
            dlogits[base + j] = hit(j, c) - hit(j, y);
        }
    } else {
        var rmx = ref_logits[base];
        for (var j = 1u; j < p.classes; j++) { rmx = max(rmx, ref_logits[base + j]); }
        var rsum = 0.0;
        var sum = 0.0;
        for (var j = 0u; j < p.classes; j++) {
            rsum += exp(ref_logits[base + j] - rmx);
            sum += exp(logits[base + j] - v1);
        }
        let rlse = log(rsum) + rmx;
        let lse = log(sum) + v1;
        var kl = 0.0;
        for (var j = 0u; j < p.classes; j++) {
            let lp = ref_logits[base + j] - rlse;
            let lq = logits[base + j] - lse;
            kl += exp(lp) * (lp - lq);
            dlogits[base + j] = exp(lq) - exp(lp);
        }
        loss[i] = kl;
    }
}
