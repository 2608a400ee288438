//! A visual check of the spatial corruptions, run by hand:
//! `cargo test --release --test shift_spatial_grid -- --ignored`. Writes
//! /tmp/shift_spatial_grey.png (MNIST-C's spatial set on bundled test digits) and
//! /tmp/shift_spatial_colour.png (CIFAR-10-C's on synthetic colour scenes): per corruption one
//! row per image, severities 0 to 5 from left to right.

use aer::gpu::{AdapterChoice, Gpu};
use aer::shift::spatial;

const ZOOM: usize = 3;
const GAP: usize = 3;

/// Three colour scenes [3, 3, 32, 32]: a red disk on a gradient, a checkerboard, a yellow
/// square between sky and grass.
fn scenes() -> Vec<f32> {
    let mut v = vec![0f32; 3 * 3 * 32 * 32];
    for y in 0..32 {
        for x in 0..32 {
            let (fy, fx) = (y as f32 / 31.0, x as f32 / 31.0);
            let disk = ((y as f32 - 15.5).powi(2) + (x as f32 - 15.5).powi(2)) < 81.0;
            let checker = ((y / 4 + x / 4) % 2) as f32;
            let square = (10..22).contains(&y) && (10..22).contains(&x);
            let px: [[f32; 3]; 3] = [
                if disk { [0.9, 0.1, 0.1] } else { [0.1, 0.3 + 0.5 * fx, 0.4 + 0.5 * fy] },
                [0.15 + 0.7 * checker, 0.2 + 0.5 * checker, 0.8 - 0.6 * checker],
                if square { [0.95, 0.85, 0.1] } else if y < 16 { [0.4, 0.6, 0.95] } else { [0.2, 0.6, 0.2] },
            ];
            for (s, rgb) in px.iter().enumerate() {
                for ch in 0..3 {
                    v[((s * 3 + ch) * 32 + y) * 32 + x] = rgb[ch];
                }
            }
        }
    }
    v
}

fn render(gpu: &Gpu, names: &[&str], x: &[f32], shape: [usize; 4], path: &str) {
    let [n, c, h, w] = shape;
    let xt = gpu.upload(x, &shape);
    let (tw, th) = (w * ZOOM + GAP, h * ZOOM + GAP);
    let (width, height) = (6 * tw + GAP, names.len() * n * th + GAP);
    let mut rgb = vec![255u8; width * height * 3];
    for (r, name) in names.iter().enumerate() {
        for severity in 0..=5 {
            let out = pollster::block_on(gpu.read_f32(&pollster::block_on(spatial::apply(gpu, name, severity, 1, &xt)).unwrap().unwrap())).unwrap();
            for e in 0..n {
                let (x0, y0) = (GAP + severity as usize * tw, GAP + (r * n + e) * th);
                for y in 0..h * ZOOM {
                    for xx in 0..w * ZOOM {
                        for ch in 0..3 {
                            let v = out[((e * c + ch.min(c - 1)) * h + y / ZOOM) * w + xx / ZOOM];
                            rgb[((y0 + y) * width + x0 + xx) * 3 + ch] = (v * 255.0).round() as u8;
                        }
                    }
                }
            }
        }
    }
    std::fs::write(path, aer::report::encode_png(&rgb, width, height).unwrap()).unwrap();
}

#[test]
#[ignore]
fn spatial_corruptions_grid() {
    let gpu = pollster::block_on(Gpu::new(&AdapterChoice::from_env())).unwrap();
    let test = aer::data::bundled(None).unwrap().test;
    let digits = test.spread(3);
    let grey: Vec<f32> = digits.images.iter().map(|&b| b as f32 / 255.0).collect();
    render(&gpu, spatial::GREY, &grey, [3, 1, 28, 28], "/tmp/shift_spatial_grey.png");
    render(&gpu, spatial::COLOUR, &scenes(), [3, 3, 32, 32], "/tmp/shift_spatial_colour.png");
}
