//! References for `shaders/shift_noise.wgsl`.

use super::common::{pcg, uniform01};
use crate::kernels::{Noise, SHOT_EXACT, SHOT_MAX_STEPS};

/// Draw `stream` of element j of example e under `seed`, as the shader's `draw`.
pub fn draw(seed: u32, e: u32, j: u32, stream: u32) -> f64 {
    uniform01(pcg(seed ^ pcg(e)), j, stream)
}

/// The shader's Box-Muller normal from streams 0 and 1.
pub fn normal(seed: u32, e: u32, j: u32) -> f64 {
    let (u1, u2) = (draw(seed, e, j, 0), draw(seed, e, j, 1));
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson count of mean m from uniform u (exact inversion up to SHOT_EXACT) or the normal
/// approximation round(m + sqrt(m) z) above it.
pub fn poisson(m: f64, u: f64, z: f64) -> f64 {
    if m > SHOT_EXACT as f64 {
        return (m + m.sqrt() * z).round_ties_even().max(0.0);
    }
    let (mut term, mut k) = ((-m).exp(), 0.0);
    let mut cdf = term;
    for s in 1..=SHOT_MAX_STEPS {
        if u <= cdf {
            break;
        }
        term *= m / s as f64;
        cdf += term;
        k = s as f64;
    }
    k
}

/// `noise` of strength a on x [n, c, h, w]: each element as the shader draws it.
pub fn shift_noise(noise: Noise, x: &[f32], [n, c, h, w]: [usize; 4], a: f32, seed: u32) -> Vec<f32> {
    let d = c * h * w;
    assert_eq!(x.len(), n * d);
    let a = a as f64;
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let (e, j) = ((i / d) as u32, (i % d) as u32);
            let v = v as f64;
            let out = match noise {
                Noise::Gaussian => v + a * normal(seed, e, j),
                // The mean as the shader computes it (one f32 product), so both pick the same
                // sampler at the threshold.
                Noise::Shot => poisson((a as f32 * (v as f32).max(0.0)) as f64, draw(seed, e, j, 2), normal(seed, e, j)) / a,
                Noise::Impulse if draw(seed, e, j, 0) < a => (draw(seed, e, j, 1) < 0.5) as u8 as f64,
                Noise::Impulse => v,
            };
            out.clamp(0.0, 1.0) as f32
        })
        .collect()
}
