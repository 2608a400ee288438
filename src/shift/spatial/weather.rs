//! Fog, spatter, snow and frost.

use super::blur::{motion, zoom_table};
use super::program::Step;
use super::{Gaussian, Job};
use crate::kernels::{Border, Draw};

/// fog (strength, wibbledecay) and the side of the published plasma map: MNIST-C crops 28x28
/// from a 256x256 map, CIFAR-10-C uses all of a 32x32 one.
const FOG_GREY: ([(f32, f32); 5], u32) = ([(1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)], 256);
const FOG_COLOUR: ([(f32, f32); 5], u32) = ([(0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75)], 32);
/// spatter (mean, std, sigma, threshold, sigma of the mask) of MNIST-C, which always spatters
/// mud.
const SPATTER: [(f32, f32, f64, f32, f64); 5] = [(0.65, 0.3, 4.0, 0.69, 0.6), (0.65, 0.3, 3.0, 0.68, 0.6), (0.65, 0.3, 2.0, 0.68, 0.5), (0.65, 0.3, 1.0, 0.65, 1.5), (0.67, 0.4, 1.0, 0.65, 1.5)];
/// Mud: MNIST-C's grey 63/255; CIFAR-10-C's brown (63, 42, 20)/255 on colour images.
const MUD_GREY: [f32; 3] = [63.0 / 255.0; 3];
const MUD_COLOUR: [f32; 3] = [63.0 / 255.0, 42.0 / 255.0, 20.0 / 255.0];
/// snow (mean, std, zoom, threshold, blur radius, blur sigma, image weight) of CIFAR-10-C.
const SNOW: [(f32, f32, f64, f32, usize, f64, f32); 5] =
    [(0.1, 0.2, 1.0, 0.6, 8, 3.0, 0.95), (0.1, 0.2, 1.0, 0.5, 10, 4.0, 0.9), (0.15, 0.3, 1.75, 0.55, 10, 4.0, 0.9), (0.25, 0.3, 2.25, 0.6, 12, 6.0, 0.85), (0.3, 0.3, 1.25, 0.65, 14, 12.0, 0.8)];
/// frost (image weight, frost weight) of CIFAR-10-C.
const FROST: [(f32, f32); 5] = [(1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)];

pub(super) fn steps(name: &str, job: &Job) -> Option<Vec<Step>> {
    let shape @ [n, c, h, w] = job.shape;
    let layer = [n, 1, h, w];
    let (seed, stream) = (job.seed, job.stream);
    Some(match name {
        "fog" => {
            let (table, published) = if job.grey() { FOG_GREY } else { FOG_COLOUR };
            let (strength, decay) = table[job.level];
            let map = published.max(h.max(w).next_power_of_two() as u32);
            vec![
                Step::Range { src: 0, n, per: c * h * w },
                Step::Plasma { shape, map, ratio: 1.0 / (decay * decay), seed, stream },
                Step::Range { src: 2, n, per: h * w },
                Step::Fog { x: 0, plasma: 2, x_range: 1, plasma_range: 3, shape, strength },
            ]
        }
        "spatter" => {
            let (mean, std, sigma, at, mask_sigma) = SPATTER[job.level];
            let blur = |sigma| Gaussian { sigma, truncate: 4.0, gain: 1.0, border: Border::Nearest, clamp01: false, rows_only: false };
            let mut steps = vec![Step::Field { shape: layer, draw: Draw::Normal { mean, std }, seed, stream }];
            steps.extend(blur(sigma).steps(1, 2, layer));
            steps.push(Step::Threshold { src: 3, len: n * h * w, at, keep: false });
            steps.extend(blur(mask_sigma).steps(4, 5, layer));
            steps.push(Step::Spatter { x: 0, mask: 6, shape, colour: if c == 3 { MUD_COLOUR } else { MUD_GREY } });
            steps
        }
        "snow" => {
            let (mean, std, zoom, at, radius, sigma, keep) = SNOW[job.level];
            let angles: Vec<f64> = (0..n).map(|e| -135.0 + 90.0 * job.draw(e, 0)).collect();
            vec![
                Step::Field { shape: layer, draw: Draw::Normal { mean, std }, seed, stream },
                Step::Zoom { src: 1, shape: layer, table: zoom_table(layer, &[zoom]), with_identity: false },
                Step::Threshold { src: 2, len: n * h * w, at, keep: true },
                motion(3, layer, radius, sigma, &angles),
                Step::Snow { x: 0, layer: 4, shape, keep },
            ]
        }
        "frost" => {
            let (image_weight, frost_weight) = FROST[job.level];
            vec![Step::Frost { x: 0, shape, image_weight, frost_weight, seed, stream }]
        }
        _ => return None,
    })
}
