//! References for `shaders/channel_affine.wgsl`.

/// y = x * scale[c] + shift[c] (one rounding, as the shader's fma) over [n, c, hw].
pub fn channel_affine(x: &[f32], scale: &[f32], shift: &[f32], hw: usize) -> Vec<f32> {
    let c = scale.len();
    x.iter().enumerate().map(|(i, v)| v.mul_add(scale[(i / hw) % c], shift[(i / hw) % c])).collect()
}

/// dx = dy * scale[c].
pub fn channel_scale(dy: &[f32], scale: &[f32], hw: usize) -> Vec<f32> {
    let c = scale.len();
    dy.iter().enumerate().map(|(i, v)| v * scale[(i / hw) % c]).collect()
}
