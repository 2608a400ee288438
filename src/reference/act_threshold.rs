//! References for `shaders/act_threshold.wgsl`.

pub fn threshold_forward(x: &[f32], theta: f32) -> Vec<f32> {
    x.iter().map(|&v| if v > theta { v } else { 0.0 }).collect()
}

pub fn threshold_backward(y: &[f32], dy: &[f32], l1_grad: f32) -> Vec<f32> {
    y.iter().zip(dy).map(|(&v, &d)| if v > 0.0 { d + l1_grad } else { 0.0 }).collect()
}

/// The next theta: max(0, theta + rate * (theta + mean(y)) * (sparsity - share of zeros in y)).
pub fn threshold_learn(y: &[f32], theta: f32, sparsity: f32, rate: f32) -> f32 {
    let n = y.len() as f64;
    let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64;
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n;
    (theta as f64 + rate as f64 * (theta as f64 + mean) * (sparsity as f64 - zeros / n)).max(0.0) as f32
}
