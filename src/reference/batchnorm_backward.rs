//! References for `shaders/batchnorm_backward.wgsl`, in f64.

/// [dgamma | dbeta] per channel of x, dy [n, c, hw], with the forward pass's stats.
pub fn bn_backward_reduce(x: &[f32], dy: &[f32], stats: &[f32], c: usize, hw: usize) -> Vec<f32> {
    let n = x.len() / (c * hw);
    let mut sums = vec![0f32; 2 * c];
    for ch in 0..c {
        let (mut sg, mut sb) = (0f64, 0f64);
        for i in 0..n {
            for j in 0..hw {
                let k = (i * c + ch) * hw + j;
                sb += dy[k] as f64;
                sg += dy[k] as f64 * (x[k] as f64 - stats[ch] as f64) * stats[c + ch] as f64;
            }
        }
        sums[ch] = sg as f32;
        sums[c + ch] = sb as f32;
    }
    sums
}

/// dx of a training pass, from the sums.
pub fn bn_backward_dx(x: &[f32], dy: &[f32], stats: &[f32], gamma: &[f32], sums: &[f32], c: usize, hw: usize) -> Vec<f32> {
    let m = (x.len() / (c * hw) * hw) as f64;
    (0..x.len())
        .map(|k| {
            let ch = (k / hw) % c;
            let invstd = stats[c + ch] as f64;
            let xhat = (x[k] as f64 - stats[ch] as f64) * invstd;
            (gamma[ch] as f64 * invstd / m * (m * dy[k] as f64 - sums[c + ch] as f64 - xhat * sums[ch] as f64)) as f32
        })
        .collect()
}
