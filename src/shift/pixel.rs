//! The pixel-wise corruptions of the benchmarks: noise, tone, drawn patterns, edges and block
//! artefacts, each one kernel of `shaders/shift_*.wgsl` with its CPU reference in
//! `reference::shift_*`. Parameters per severity (1 to 5) are the published ones: MNIST-C's
//! (Mu & Gilmer, 2019; google-research/mnist-c corruptions.py) on one channel, CIFAR-10-C's
//! (Hendrycks & Dietterich, 2019; make_cifar_c.py) otherwise. MNIST-C's stripe, dotted line,
//! zigzag and canny edges have one published strength; their five severities are ours and
//! docs/shift.md says which one is the published corruption.

use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, Noise, Pattern, Tone, CANNY_HIGH, CANNY_LOW};
use crate::reference;

/// This file's corruptions in MNIST-C, in its published order.
pub const GREY: &[&str] = &["shot_noise", "impulse_noise", "brightness", "stripe", "dotted_line", "zigzag", "canny_edges"];
/// This file's corruptions in CIFAR-10-C, in its published order.
pub const COLOUR: &[&str] = &["gaussian_noise", "shot_noise", "impulse_noise", "brightness", "contrast", "pixelate", "jpeg"];

/// One corruption at one severity, as its kernel's arguments.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Step {
    Noise(Noise, f32),
    Tone(Tone, f32),
    Pattern(Pattern, u32),
    Canny(f32),
    /// Shrunk size [dh, dw].
    Pixelate([usize; 2]),
    /// JPEG quality.
    Jpeg(u32),
}

/// The value of a per-severity table at severity s (1 to 5).
fn at<T: Copy>(table: [T; 5], s: u32) -> T {
    table[s as usize - 1]
}

/// What `name` does at `severity` (1 to 5) to images of `channels` x h x w; None when the name
/// is not one of this file's.
fn step(name: &str, severity: u32, [channels, h, w]: [usize; 3]) -> Option<Step> {
    if !(1..=5).contains(&severity) {
        return None;
    }
    let grey = channels == 1;
    let s = severity;
    Some(match name {
        "gaussian_noise" => Step::Noise(Noise::Gaussian, at([0.04, 0.06, 0.08, 0.09, 0.10], s)),
        "shot_noise" if grey => Step::Noise(Noise::Shot, at([60.0, 25.0, 12.0, 5.0, 3.0], s)),
        "shot_noise" => Step::Noise(Noise::Shot, at([500.0, 250.0, 100.0, 75.0, 50.0], s)),
        "impulse_noise" if grey => Step::Noise(Noise::Impulse, at([0.03, 0.06, 0.09, 0.17, 0.27], s)),
        "impulse_noise" => Step::Noise(Noise::Impulse, at([0.01, 0.02, 0.03, 0.05, 0.07], s)),
        "brightness" if grey => Step::Tone(Tone::Brightness, at([0.1, 0.2, 0.3, 0.4, 0.5], s)),
        "brightness" => Step::Tone(Tone::Brightness, at([0.05, 0.1, 0.15, 0.2, 0.3], s)),
        "contrast" => Step::Tone(Tone::Contrast, at([0.75, 0.5, 0.4, 0.3, 0.15], s)),
        // s / 20 of the width on each side: MNIST-C's 7 of 28 columns at severity 5.
        "stripe" => Step::Pattern(Pattern::Stripe, ((w * s as usize) as f64 / 20.0).round() as u32),
        // s lines: MNIST-C draws one (severity 1).
        "dotted_line" => Step::Pattern(Pattern::DottedLine, s),
        "zigzag" => Step::Pattern(Pattern::Zigzag, s),
        // The edge map blended in by s / 5: MNIST-C's edges alone at severity 5.
        "canny_edges" => Step::Canny(s as f32 / 5.0),
        "pixelate" => {
            let c = at([0.95, 0.9, 0.85, 0.75, 0.65], s);
            Step::Pixelate([((h as f64 * c) as usize).max(1), ((w as f64 * c) as usize).max(1)])
        }
        "jpeg" => Step::Jpeg(at([80, 65, 58, 50, 40], s)),
        _ => return None,
    })
}

/// x [n, c, h, w] (values in [0, 1]) corrupted by `name` at `severity` (1 to 5) on the GPU;
/// Ok(None) when the name is not one of this file's (or the severity is outside 1 to 5:
/// `shift::corrupt` checks it, and makes severity 0 the identity). Draws depend on (seed,
/// example index in x).
pub async fn apply(gpu: &Gpu, name: &str, severity: u32, seed: u32, x: &Tensor) -> Result<Option<Tensor>> {
    let shape: [usize; 4] = x.shape().try_into().map_err(|_| crate::AerError::Invalid(format!("{name}: images must be [n, c, h, w], not {:?}", x.shape())))?;
    let [_, c, h, w] = shape;
    let Some(step) = step(name, severity, [c, h, w]) else { return Ok(None) };
    let y = gpu.empty(&shape);
    match step {
        Step::Noise(noise, a) => kernels::shift_noise(gpu, noise, x, &y, shape, a, seed),
        Step::Tone(tone, a) => kernels::shift_tone(gpu, tone, x, &y, shape, a),
        Step::Pattern(pattern, k) => kernels::shift_pattern(gpu, pattern, x, &y, shape, k, seed),
        Step::Canny(a) => kernels::canny_edges(gpu, x, &y, shape, CANNY_LOW, CANNY_HIGH, a),
        Step::Pixelate(small) => kernels::pixelate(gpu, x, &y, shape, small),
        Step::Jpeg(quality) => kernels::jpeg(gpu, x, &y, shape, quality),
    }
    Ok(Some(y))
}

/// `apply` on the CPU, from the references of the kernels; None where `apply` gives Ok(None).
pub fn reference(name: &str, severity: u32, seed: u32, x: &[f32], shape: [usize; 4]) -> Option<Vec<f32>> {
    let [_, c, h, w] = shape;
    Some(match step(name, severity, [c, h, w])? {
        Step::Noise(noise, a) => reference::shift_noise::shift_noise(noise, x, shape, a, seed),
        Step::Tone(tone, a) => reference::shift_tone::shift_tone(tone, x, shape, a),
        Step::Pattern(pattern, k) => reference::shift_pattern::shift_pattern(pattern, x, shape, k, seed),
        Step::Canny(a) => reference::shift_edges::canny_edges(x, shape, CANNY_LOW, CANNY_HIGH, a),
        Step::Pixelate(small) => reference::shift_block::pixelate(x, shape, small),
        Step::Jpeg(quality) => reference::shift_block::jpeg(x, shape, quality),
    })
}
