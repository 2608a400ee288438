//! References for `shaders/bias.wgsl`.

/// x[o, c, i] += bias[c].
pub fn bias_add(x: &mut [f32], bias: &[f32], channels: usize, inner: usize) {
    for (i, v) in x.iter_mut().enumerate() {
        *v += bias[(i / inner) % channels];
    }
}

/// x[o, c, i] = max(x[o, c, i] + bias[c], 0).
pub fn bias_relu(x: &mut [f32], bias: &[f32], channels: usize, inner: usize) {
    bias_add(x, bias, channels, inner);
    x.iter_mut().for_each(|v| *v = v.max(0.0));
}

/// db[c] = sum over o, i of dy[o, c, i].
pub fn bias_grad(dy: &[f32], channels: usize, inner: usize) -> Vec<f32> {
    let mut db = vec![0f64; channels];
    for (i, v) in dy.iter().enumerate() {
        db[(i / inner) % channels] += *v as f64;
    }
    db.into_iter().map(|v| v as f32).collect()
}

/// The backward pass of a ReLU over a linear layer's output y [outer, channels]: dy masked
/// where y is not positive, and the bias gradient (column sums) of the masked dy.
pub fn relu_bias_grad(y: &[f32], dy: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    let masked = super::relu::relu_backward(y, dy);
    let db = bias_grad(&masked, channels, 1);
    (masked, db)
}
