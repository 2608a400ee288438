//! References for `shaders/batchnorm.wgsl`, in f64.

/// (stats [mean | invstd], scale_shift [scale | shift], new running mean, new running var)
/// of a training pass over x [n, c, hw].
#[allow(clippy::too_many_arguments)]
pub fn bn_train_stats(x: &[f32], c: usize, hw: usize, gamma: &[f32], beta: &[f32], running: (&[f32], &[f32]), momentum: f32, eps: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = x.len() / (c * hw);
    let m = (n * hw) as f64;
    let (mut stats, mut affine) = (vec![0f32; 2 * c], vec![0f32; 2 * c]);
    let (mut rm, mut rv) = (running.0.to_vec(), running.1.to_vec());
    for ch in 0..c {
        let vals: Vec<f64> = (0..n).flat_map(|i| (0..hw).map(move |j| (i, j))).map(|(i, j)| x[(i * c + ch) * hw + j] as f64).collect();
        let mean = vals.iter().sum::<f64>() / m;
        let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
        let invstd = 1.0 / (var + eps as f64).sqrt();
        stats[ch] = mean as f32;
        stats[c + ch] = invstd as f32;
        let sc = gamma[ch] as f64 * invstd;
        affine[ch] = sc as f32;
        affine[c + ch] = (beta[ch] as f64 - mean * sc) as f32;
        let unbiased = if m > 1.0 { var * m / (m - 1.0) } else { var };
        let mo = momentum as f64;
        rm[ch] = ((1.0 - mo) * rm[ch] as f64 + mo * mean) as f32;
        rv[ch] = ((1.0 - mo) * rv[ch] as f64 + mo * unbiased) as f32;
    }
    (stats, affine, rm, rv)
}

/// (stats, scale_shift) of an evaluation pass: from the running statistics.
pub fn bn_eval_affine(gamma: &[f32], beta: &[f32], running_mean: &[f32], running_var: &[f32], eps: f32) -> (Vec<f32>, Vec<f32>) {
    let c = gamma.len();
    let (mut stats, mut affine) = (vec![0f32; 2 * c], vec![0f32; 2 * c]);
    for ch in 0..c {
        let invstd = 1.0 / (running_var[ch] as f64 + eps as f64).sqrt();
        stats[ch] = running_mean[ch];
        stats[c + ch] = invstd as f32;
        let sc = gamma[ch] as f64 * invstd;
        affine[ch] = sc as f32;
        affine[c + ch] = (beta[ch] as f64 - running_mean[ch] as f64 * sc) as f32;
    }
    (stats, affine)
}
