//! References for `shaders/avgpool.wgsl`.

/// The mean of each plane of `hw` values (f64 sum).
pub fn global_avgpool_forward(x: &[f32], hw: usize) -> Vec<f32> {
    x.chunks(hw).map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / hw as f64) as f32).collect()
}

/// Each plane's gradient spread evenly over its `hw` values.
pub fn global_avgpool_backward(dy: &[f32], hw: usize) -> Vec<f32> {
    dy.iter().flat_map(|&d| std::iter::repeat_n(d / hw as f32, hw)).collect()
}
