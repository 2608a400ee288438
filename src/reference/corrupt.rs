//! Parameter corruption's kernels, plainly (see `shaders/corrupt.wgsl`).

use super::common::uniform01;

/// Sum of x^2, or of (x - minus)^2.
pub fn sum_squares(x: &[f32], minus: Option<&[f32]>) -> f64 {
    x.iter().enumerate().map(|(i, &v)| (v as f64 - minus.map_or(0.0, |m| m[i] as f64)).powi(2)).sum()
}

/// w + step * r * g / |g|, with |g|^2 = g_norm2 (unchanged when it is 0).
pub fn l2_ascent(w: &[f32], g: &[f32], g_norm2: f64, r: f64, step: f32) -> Vec<f32> {
    let n = g_norm2.sqrt();
    w.iter().zip(g).map(|(&w, &g)| if n > 0.0 { (w as f64 + step as f64 * r * g as f64 / n) as f32 } else { w }).collect()
}

/// w0 + (w - w0) * s with |w - w0|^2 = d_norm2: into the ball of radius r, or onto its sphere.
pub fn l2_project(w: &[f32], w0: &[f32], d_norm2: f64, r: f64, onto_sphere: bool) -> Vec<f32> {
    let d = d_norm2.sqrt();
    let s = if d > 0.0 && (d > r || onto_sphere) { r / d } else { 1.0 };
    w.iter().zip(w0).map(|(&w, &b)| (b as f64 + (w as f64 - b as f64) * s) as f32).collect()
}

/// clip(w + step * r * sign(g), w0 - r, w0 + r).
pub fn linf_ascent(w: &[f32], w0: &[f32], g: &[f32], r: f32, step: f32) -> Vec<f32> {
    (0..w.len()).map(|i| (w[i] + step * r * sign(g[i])).clamp(w0[i] - r, w0[i] + r)).collect()
}

/// w0 +- r by a seeded coin per element.
pub fn random_corner(w0: &[f32], r: f32, seed: u32) -> Vec<f32> {
    w0.iter().enumerate().map(|(i, &b)| b + if uniform01(seed, i as u32, 0) < 0.5 { r } else { -r }).collect()
}

/// w0 + a seeded standard normal per element (Box-Muller on streams 1 and 2).
pub fn random_normal(w0: &[f32], seed: u32) -> Vec<f32> {
    w0.iter()
        .enumerate()
        .map(|(i, &b)| {
            let (u1, u2) = (1.0 - uniform01(seed, i as u32, 1), uniform01(seed, i as u32, 2));
            b + ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

fn sign(x: f32) -> f32 {
    if x == 0.0 {
        0.0
    } else {
        x.signum()
    }
}
