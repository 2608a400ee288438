// Per-channel bias over a tensor viewed as [outer, channels, inner]:
// linear layers use inner = 1, conv layers (NCHW) inner = H*W.

// accumulate != 0: bias_grad adds to the gradient instead of overwriting it.
struct Params { outer: u32, channels: u32, inner: u32, accumulate: u32 }

@group(0) @binding(0) var<uniform> p: Params;
// bias_add: the activations, updated in place. bias_grad: the output gradient.
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
// bias_add: the bias. bias_grad: where its gradient is written.
@group(0) @binding(2) var<storage, read_write> bias: array<f32>;
// relu_bias_grad: the output of the ReLU that follows the layer.
@group(0) @binding(3) var<storage, read> y: array<f32>;

// Each invocation of bias_add covers a run of up to RUN inner positions of one (outer,
// channel) row, and bias_grad sums such runs: the row's channel is found once per run rather
// than per element (integer division has no SIMD form on CPU adapters).
const RUN: u32 = 32u;

// One run of data[(outer, channel), :] += bias[channel], then max(., 0) with `relu`.
fn add_run(t: u32, relu: bool) {
    let runs = (p.inner + RUN - 1u) / RUN;
    if (t >= p.outer * p.channels * runs) { return; }
    let q0 = (t % runs) * RUN;
    let row = t / runs;
    let b = bias[row % p.channels];
    for (var q = q0; q < min(q0 + RUN, p.inner); q++) {
        let v = data[row * p.inner + q] + b;
        data[row * p.inner + q] = select(v, max(v, 0.0), relu);
    }
}

@compute @workgroup_size(256)
fn bias_add(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
    add_run((wg.y * nwg.x + wg.x) * 256u + li, false);    // (outer, channel, run)
}

// bias_add followed by the ReLU after the layer, in place: x = max(x + bias, 0).
@compute @workgroup_size(256)
fn bias_relu(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    add_run((wg.y * nwg.x + wg.x) * 256u + li, true);
}

var<workgroup> partial: array<f32, 256>;

// One workgroup per channel sums its outer*inner entries, then a tree reduction.
@compute @workgroup_size(256)
fn bias_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let ch = wg.x;
    let runs = (p.inner + RUN - 1u) / RUN;
    var s = 0.0;
    for (var j = li; j < p.outer * runs; j += 256u) {
        let q0 = (j % runs) * RUN;
        let base = ((j / runs) * p.channels + ch) * p.inner;
        for (var q = q0; q < min(q0 + RUN, p.inner); q++) { s += data[base + q]; }
    }
    partial[li] = s;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (li < stride) { partial[li] += partial[li + stride]; }
        workgroupBarrier();
    }
    if (li == 0u) { bias[ch] = select(0.0, bias[ch], p.accumulate != 0u) + partial[0]; }
}

// Linear layers (inner = 1), dy [outer, channels]: a workgroup covers COLS channels, each
// invocation one channel's column over every SLICES-th row, so that neighbouring invocations
// read neighbouring values; the slices' sums meet in workgroup memory after one barrier.
// Workgroups of few channels each keep both cores of a CPU adapter busy on a few hundred.
const COLS: u32 = 64u;
const SLICES: u32 = 4u;

fn finish_columns(li: u32, ch: u32, s: f32) {
    partial[li] = s;
    workgroupBarrier();
    if (li < COLS && ch < p.channels) {
        let total = (partial[li] + partial[li + COLS]) + (partial[li + 2u * COLS] + partial[li + 3u * COLS]);
        bias[ch] = select(0.0, bias[ch], p.accumulate != 0u) + total;
    }
}

@compute @workgroup_size(256)
fn bias_grad_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let ch = wg.x * COLS + li % COLS;
    var s = 0.0;
    if (ch < p.channels) {
        for (var o = li / COLS; o < p.outer; o += SLICES) { s += data[o * p.channels + ch]; }
    }
    finish_columns(li, ch, s);
}

// The backward pass of a ReLU over a linear layer's output and that layer's bias gradient in
// one pass: dy is masked in place where y = relu(layer output) is zero, and the masked
// columns summed.
@compute @workgroup_size(256)
fn relu_bias_grad(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let ch = wg.x * COLS + li % COLS;
    var s = 0.0;
    if (ch < p.channels) {
        for (var o = li / COLS; o < p.outer; o += SLICES) {
            let i = o * p.channels + ch;
            let d = select(0.0, data[i], y[i] > 0.0);
            data[i] = d;
            s += d;
        }
    }
    finish_columns(li, ch, s);
}
