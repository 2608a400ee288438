//! References for `shaders/shift_weather.wgsl`, in f32 as the shader computes.

use super::common::{example_key, pcg, uniform01_f32};
use super::shift_blur::per_pixel;
use crate::kernels::Draw;

/// `total` draws, `per` per example.
pub fn random_field(total: usize, per: usize, draw: Draw, seed: u32, stream: u32) -> Vec<f32> {
    (0..total)
        .map(|i| {
            let (key, pos) = (example_key(seed, (i / per) as u32), (i % per) as u32);
            match draw {
                Draw::Uniform { lo, hi } => lo + (hi - lo) * uniform01_f32(key, pos, stream),
                Draw::Normal { mean, std } => {
                    let s = (0..4).fold(0f32, |s, j| s + uniform01_f32(key, pos, 4 * stream + j));
                    mean + std * ((s - 2.0) * 1.732_050_8)
                }
            }
        })
        .collect()
}

fn lattice(key: u32, octave: u32, ly: u32, lx: u32, stream: u32) -> f32 {
    2.0 * uniform01_f32(key, lx ^ pcg(ly ^ pcg(octave)), stream) - 1.0
}

fn smooth01(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// `value_noise` of the shader: lattice spacing s at pixel (y, x).
pub fn value_noise(key: u32, octave: u32, y: u32, x: u32, s: u32, stream: u32) -> f32 {
    let (ly, lx) = (y / s, x / s);
    let (ty, tx) = (smooth01((y % s) as f32 / s as f32), smooth01((x % s) as f32 / s as f32));
    let l = |dy, dx| lattice(key, octave, ly + dy, lx + dx, stream);
    let top = l(0, 0) * (1.0 - tx) + l(0, 1) * tx;
    let bottom = l(1, 0) * (1.0 - tx) + l(1, 1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// Fog's plasma [n, 1, h, w].
pub fn plasma([n, _, h, w]: [usize; 4], map: u32, ratio: f32, seed: u32, stream: u32) -> Vec<f32> {
    per_pixel([n, 1, h, w], |e, y, x| {
        let key = example_key(seed, e as u32);
        let (mut amp, mut v, mut s, mut octave) = (1f32, 0f32, map / 2, 0);
        while s >= 1 {
            v += amp * value_noise(key, octave, y as u32, x as u32, s, stream);
            amp *= ratio;
            octave += 1;
            s /= 2;
        }
        v
    })
}

/// (min, max) per example of `per` values each.
pub fn example_range(src: &[f32], per: usize) -> Vec<f32> {
    src.chunks(per).flat_map(|v| [v.iter().copied().fold(f32::MAX, f32::min), v.iter().copied().fold(f32::MIN, f32::max)]).collect()
}

/// Fog: (x + strength plasma01) max(x) / (max(x) + strength), clamped.
pub fn fog_mix(x: &[f32], plasma: &[f32], x_range: &[f32], plasma_range: &[f32], shape: [usize; 4], strength: f32) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, xx| {
        let e = plane / c;
        let (lmin, span) = (plasma_range[2 * e], plasma_range[2 * e + 1] - plasma_range[2 * e]);
        let fog = if span > 0.0 { (plasma[e * h * w + y * w + xx] - lmin) / span } else { 0.0 };
        let top = x_range[2 * e + 1];
        ((x[plane * h * w + y * w + xx] + strength * fog) * (top / (top + strength))).clamp(0.0, 1.0)
    })
}

/// 0 below `at`; else 1 (a mask) or the value (`keep`).
pub fn threshold_field(src: &[f32], at: f32, keep: bool) -> Vec<f32> {
    src.iter().map(|&v| if v < at { 0.0 } else if keep { v } else { 1.0 }).collect()
}

/// Spatter's mud where the mask [n, 1, h, w] reaches 0.8.
pub fn spatter_mix(x: &[f32], mask: &[f32], shape: [usize; 4], colour: [f32; 3]) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, xx| {
        let m = mask[(plane / c) * h * w + y * w + xx];
        let m = if m < 0.8 { 0.0 } else { m };
        (x[plane * h * w + y * w + xx] * (1.0 - m) + colour[(plane % c).min(2)] * m).clamp(0.0, 1.0)
    })
}

/// Snow: x brightened towards its grey level, plus the layer and the layer turned by 180
/// degrees.
pub fn snow_mix(x: &[f32], layer: &[f32], shape: [usize; 4], keep: f32) -> Vec<f32> {
    let [_, c, h, w] = shape;
    let hw = h * w;
    per_pixel(shape, |plane, y, xx| {
        let (e, at) = (plane / c, y * w + xx);
        let base = e * c * hw + at;
        let grey = if c == 3 {
            0.299 * x[base] + 0.587 * x[base + hw] + 0.114 * x[base + 2 * hw]
        } else {
            (0..c).fold(0f32, |g, ch| g + x[base + ch * hw]) / c as f32
        };
        let v = x[plane * hw + at];
        let lit = keep * v + (1.0 - keep) * v.max(1.5 * grey + 0.5);
        (lit + layer[e * hw + at] + layer[e * hw + hw - 1 - at]).clamp(0.0, 1.0)
    })
}

/// The procedural ice of `frost` at (y, x) of the example keyed `key`, before the tint.
pub fn ice(key: u32, y: u32, x: u32, stream: u32) -> f32 {
    let haze = 0.5 + 0.35 * value_noise(key, 0, y, x, 16, stream) + 0.15 * value_noise(key, 1, y, x, 4, stream);
    let cell = 8u32;
    let mut needles = 0f32;
    for dy in 0..3u32 {
        for dx in 0..3u32 {
            let (cy, cx) = ((y / cell + dy).wrapping_sub(1), (x / cell + dx).wrapping_sub(1));
            for k in 0..2u32 {
                let pos = cx ^ pcg(cy ^ pcg(16 + k));
                let oy = (cy as i32 as f32 + uniform01_f32(key, pos, 4 * stream)) * cell as f32 - y as f32;
                let ox = (cx as i32 as f32 + uniform01_f32(key, pos, 4 * stream + 1)) * cell as f32 - x as f32;
                let angle = std::f32::consts::PI * uniform01_f32(key, pos, 4 * stream + 2);
                let half = cell as f32 * (0.3 + 0.7 * uniform01_f32(key, pos, 4 * stream + 3));
                let t = (-(ox * angle.cos() + oy * angle.sin())).clamp(-half, half);
                let (qx, qy) = (ox + t * angle.cos(), oy + t * angle.sin());
                needles = needles.max((1.0 - (qx * qx + qy * qy).sqrt()).max(0.0));
            }
        }
    }
    (0.7 * haze + 0.4 * needles).clamp(0.0, 1.0)
}

/// Frost: image_weight x + frost_weight ice tint[ch], clamped.
pub fn frost(x: &[f32], shape: [usize; 4], image_weight: f32, frost_weight: f32, seed: u32, stream: u32) -> Vec<f32> {
    let [_, c, h, w] = shape;
    per_pixel(shape, |plane, y, xx| {
        let tint = if c == 3 { [0.86, 0.93, 1.0][plane % c] } else { 1.0 };
        let v = ice(example_key(seed, (plane / c) as u32), y as u32, xx as u32, stream) * tint;
        (image_weight * x[plane * h * w + y * w + xx] + frost_weight * v).clamp(0.0, 1.0)
    })
}
