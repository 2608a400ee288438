//! References for `shaders/roofline.wgsl`.

/// Per four values, eight chains s = s * 0.999 + 0.001 (fused) over `iters` steps from
/// v, v + 1, v + 2, v + 3, v - 1, v - 2, v - 3, v / 2, summed in the shader's order.
pub fn fma_peak(x: &[f32], iters: usize) -> Vec<f32> {
    x.iter()
        .map(|&v| {
            let mut s = [v, v + 1.0, v + 2.0, v + 3.0, v - 1.0, v - 2.0, v - 3.0, v * 0.5];
            for _ in 0..iters {
                for c in s.iter_mut() {
                    *c = c.mul_add(0.999, 0.001);
                }
            }
            ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
        })
        .collect()
}

pub fn stream_copy(x: &[f32]) -> Vec<f32> {
    x.to_vec()
}
