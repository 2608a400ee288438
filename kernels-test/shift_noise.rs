//! shift_noise.wgsl against `reference::shift_noise`: Gaussian, shot and impulse noise on
//! image batches of every shape up to a grid that spills into y; the samplers' statistics;
//! determinism and severity 0.

use crate::common::*;
use aer::kernels::{self, Noise};
use aer::reference::shift_noise as reference;

fn run(noise: Noise, x: &[f32], shape: [usize; 4], a: f32, seed: u32) -> Vec<f32> {
    let y = gpu().empty(&[x.len()]);
    kernels::shift_noise(gpu(), noise, &upload(x), &y, shape, a, seed);
    read(&y)
}

#[test]
fn shift_noise_matches_reference() {
    let mut shapes = image_shapes("shift_noise");
    // 16.8 M elements: a grid that spills into y (65,536 workgroups).
    shapes.push([1, 1, 4097, 4096]);
    for (i, &shape) in shapes.iter().enumerate() {
        let x = images(&mut rng("shift_noise", i), shape.iter().product());
        let seed = 11 + i as u32;
        let big = i + 1 == shapes.len();
        for (noise, a) in [(Noise::Gaussian, 0.38), (Noise::Shot, 3.0), (Noise::Shot, 60.0), (Noise::Shot, 500.0), (Noise::Impulse, 0.27)] {
            if big && noise == Noise::Shot {
                continue;
            }
            let case = (noise, a, shape, seed);
            let got = run(noise, x.as_slice(), shape, a, seed);
            let want = reference::shift_noise(noise, &x, shape, a, seed);
            match noise {
                // cos and log within Vulkan's 2^-11 and a few ULP, times normal draws up to ~5.6
                // and a <= 0.4.
                Noise::Gaussian => assert_close("gaussian_noise", &case, &got, &want, Tol { abs: 3e-3, rel: 0.0 }),
                // Uniforms are exact; a count off by one only where exp's few ULP (or z's
                // rounding above the threshold) move the draw across a step of the CDF.
                Noise::Shot => assert_mostly_close("shot_noise", &case, &got, &want, Tol { abs: 1e-6, rel: 1e-6 }, 1.0 / a as f64 + 1e-6, 0.002),
                Noise::Impulse => assert_close("impulse_noise", &case, &got, &want, Tol::EXACT),
            }
        }
    }
}

/// The samplers: Poisson counts with mean and variance m on both sides of the exact range,
/// standard normal draws, impulse noise replacing a share a half by 0 and half by 1.
#[test]
fn shift_noise_draws_have_their_distributions() {
    let draws = 40_000u32;
    for m in [0.5, 4.0, 31.0, 33.0, 250.0] {
        let k: Vec<f64> = (0..draws).map(|j| reference::poisson(m, reference::draw(3, 0, j, 2), reference::normal(3, 0, j))).collect();
        let mean = k.iter().sum::<f64>() / draws as f64;
        let var = k.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / draws as f64;
        assert!((mean - m).abs() < 4.0 * (m / draws as f64).sqrt() + 0.01, "Poisson({m}): mean {mean}");
        assert!((var / m - 1.0).abs() < 0.05, "Poisson({m}): variance {var}");
    }
    let z: Vec<f64> = (0..draws).map(|j| reference::normal(5, 1, j)).collect();
    let mean = z.iter().sum::<f64>() / draws as f64;
    let var = z.iter().map(|v| v * v).sum::<f64>() / draws as f64 - mean * mean;
    assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.03, "normal: mean {mean}, variance {var}");
    let x = vec![0.5f32; draws as usize];
    let y = run(Noise::Impulse, &x, [1, 1, 200, 200], 0.2, 9);
    let (zeros, ones) = (y.iter().filter(|&&v| v == 0.0).count() as f64, y.iter().filter(|&&v| v == 1.0).count() as f64);
    assert!((zeros / draws as f64 - 0.1).abs() < 0.01 && (ones / draws as f64 - 0.1).abs() < 0.01, "impulse: {zeros} zeros, {ones} ones in {draws}");
}

/// The same seed gives the same bits, another seed other noise; severity 0 is the identity.
#[test]
fn shift_noise_is_deterministic_and_severity_0_is_the_identity() {
    let shape = [4, 3, 32, 32];
    let x = images(&mut rng("shift_noise_seed", 0), shape.iter().product());
    for name in ["gaussian_noise", "shot_noise", "impulse_noise"] {
        let corrupt = |severity: u32, seed: u32| read(&pollster::block_on(aer::shift::corrupt(gpu(), name, severity, seed, &gpu().upload(&x, &shape))).unwrap());
        assert_eq!(corrupt(3, 1), corrupt(3, 1), "{name}: same seed, other bits");
        assert_ne!(corrupt(3, 1), corrupt(3, 2), "{name}: another seed, the same noise");
        assert_eq!(corrupt(0, 1), x, "{name}: severity 0 changed the images");
        assert_ne!(corrupt(1, 1), x, "{name}: severity 1 left the images alone");
    }
}
