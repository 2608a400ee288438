//! Glass, motion, defocus and zoom blur.

use super::program::{Shape, Step};
use super::{Gaussian, Job};
use crate::kernels::Border;

/// glass_blur (sigma, max_delta, iterations): MNIST-C, then CIFAR-10-C.
const GLASS_GREY: [(f64, u32, u32); 5] = [(0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2)];
const GLASS_COLOUR: [(f64, u32, u32); 5] = [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)];
/// motion_blur (radius, sigma) of ImageMagick's MotionBlurImage.
const MOTION_GREY: [(usize, f64); 5] = [(10, 3.0), (15, 5.0), (15, 8.0), (15, 12.0), (20, 15.0)];
const MOTION_COLOUR: [(usize, f64); 5] = [(6, 1.0), (6, 1.5), (6, 2.0), (8, 2.0), (9, 2.5)];
/// defocus_blur (disk radius, alias_blur) of CIFAR-10-C.
const DEFOCUS: [(f64, f64); 5] = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)];
/// zoom_blur: CIFAR-10-C's np.arange(1, stop, 0.01) holds 7, 12, 16, 21 and 26 factors (the
/// float arithmetic of arange includes 1.06 and 1.11).
const ZOOMS: [usize; 5] = [7, 12, 16, 21, 26];

pub(super) fn steps(name: &str, job: &Job) -> Option<Vec<Step>> {
    let shape = job.shape;
    Some(match name {
        "glass_blur" => glass(job),
        "motion_blur" => {
            let (radius, sigma) = if job.grey() { MOTION_GREY } else { MOTION_COLOUR }[job.level];
            let angles: Vec<f64> = (0..shape[0]).map(|e| -45.0 + 90.0 * job.draw(e, 0)).collect();
            vec![motion(0, shape, radius, sigma, &angles)]
        }
        "defocus_blur" => {
            let (radius, alias) = DEFOCUS[job.level];
            let (taps, k) = disk(radius, alias);
            vec![Step::Convolve { src: 0, shape, taps, size: [k, k], border: Border::Reflect101, clamp01: true }]
        }
        "zoom_blur" => {
            let factors: Vec<f64> = (0..ZOOMS[job.level]).map(|i| 1.0 + i as f64 * 0.01).collect();
            vec![Step::Zoom { src: 0, shape, table: zoom_table(shape, &factors), with_identity: true }]
        }
        _ => return None,
    })
}

/// Blur, shuffle pixels locally `iterations` times, blur again. MNIST-C blurs a 2-D image with
/// multichannel set, hence along rows only, and swaps each pixel with probability 1/2.
fn glass(job: &Job) -> Vec<Step> {
    let (sigma, delta, iterations) = if job.grey() { GLASS_GREY } else { GLASS_COLOUR }[job.level];
    let g = Gaussian { sigma, truncate: 4.0, gain: 1.0, border: Border::Nearest, clamp01: true, rows_only: job.grey() };
    let mut steps = g.steps(0, 1, job.shape);
    for pass in 0..iterations {
        steps.push(Step::Glass { src: steps.len(), shape: job.shape, delta, coin: job.grey(), seed: job.seed, pass });
    }
    let last = steps.len();
    steps.extend(g.steps(last, last + 1, job.shape));
    steps
}

/// ImageMagick's motion blur of slot `src` with (radius, sigma), one angle in degrees per
/// example: 2 radius + 1 taps exp(-k^2 / 2 sigma^2), normalised, k pixels along the angle.
pub(super) fn motion(src: usize, shape: Shape, radius: usize, sigma: f64, angles: &[f64]) -> Step {
    let raw: Vec<f64> = (0..2 * radius + 1).map(|k| (-((k * k) as f64) / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f64 = raw.iter().sum();
    let taps = raw.iter().map(|v| (v / sum) as f32).collect();
    let dirs = angles.iter().flat_map(|a| [a.to_radians().cos() as f32, a.to_radians().sin() as f32]).collect();
    Step::Motion { src, shape, taps, dirs }
}

/// CIFAR-10-C's defocus kernel: the disk x^2 + y^2 <= r^2 on a 17x17 grid (2r + 1 past r = 8),
/// normalised, smoothed by OpenCV's 3x3 (5x5 past r = 8) Gaussian of sigma `alias`, then cut
/// to its non-zero centre. Returns the taps and the side.
fn disk(radius: f64, alias: f64) -> (Vec<f32>, usize) {
    let (half, k) = if radius <= 8.0 { (8i64, 3i64) } else { (radius as i64, 5) };
    let side = (2 * half + 1) as usize;
    let inside = |y: i64, x: i64| if (x * x + y * y) as f64 <= radius * radius { 1.0 } else { 0.0 };
    let mut d: Vec<f64> = (-half..=half).flat_map(|y| (-half..=half).map(move |x| inside(y, x))).collect();
    let total: f64 = d.iter().sum();
    d.iter_mut().for_each(|v| *v /= total);
    // OpenCV's Gaussian kernel for ksize k and sigma `alias`, applied along each axis with
    // BORDER_REFLECT_101 (the disk's edge is 0, so the border never matters).
    let g: Vec<f64> = (0..k).map(|i| (-((i - k / 2) as f64).powi(2) / (2.0 * alias * alias)).exp()).collect();
    let gs: f64 = g.iter().sum();
    let reflect = |i: i64| crate::reference::common::border_index(i, side, Border::Reflect101).unwrap();
    let blur = |v: &[f64], along_rows: bool| -> Vec<f64> {
        let mut out = vec![0f64; side * side];
        for y in 0..side {
            for x in 0..side {
                out[y * side + x] = (0..k)
                    .map(|i| {
                        let (sy, sx) = if along_rows { (reflect(y as i64 + i - k / 2), x) } else { (y, reflect(x as i64 + i - k / 2)) };
                        g[i as usize] / gs * v[sy * side + sx]
                    })
                    .sum();
            }
        }
        out
    };
    let d = blur(&blur(&d, true), false);
    // The smallest centred square holding every non-zero tap.
    let c = half as usize;
    let r = (0..side * side).filter(|&i| d[i] > 0.0).map(|i| (i / side).abs_diff(c).max((i % side).abs_diff(c))).max().unwrap_or(0);
    let taps = (c - r..=c + r).flat_map(|y| (c - r..=c + r).map(move |x| (y, x))).map(|(y, x)| d[y * side + x] as f32).collect();
    (taps, 2 * r + 1)
}

/// scipy's zoom (order 1) of each axis's centre crop ceil(n / z), trimmed back to n, as
/// `zoom_blur`'s table: per factor (top, scale, trim) for rows, then columns.
pub(super) fn zoom_table([_, _, h, w]: Shape, factors: &[f64]) -> Vec<f32> {
    let axis = |n: usize, z: f64| {
        let crop = (n as f64 / z).ceil() as i64;
        let top = (n as i64 - crop).div_euclid(2);
        let out = (crop as f64 * z).round_ties_even() as i64;
        let trim = (out - n as i64).div_euclid(2);
        let scale = if out > 1 { (crop - 1) as f64 / (out - 1) as f64 } else { 0.0 };
        [top as f32, scale as f32, trim as f32]
    };
    factors.iter().flat_map(|&z| axis(h, z).into_iter().chain(axis(w, z))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_disks_are_the_published_kernels() {
        // Radius 0.3: the centre pixel alone, smoothed by a 3x3 Gaussian of sigma 0.4.
        let (taps, k) = disk(0.3, 0.4);
        assert_eq!(k, 3);
        let g = [(-1.0f64 / 0.32).exp(), 1.0, (-1.0f64 / 0.32).exp()];
        let s: f64 = g.iter().sum();
        assert!((taps[4] as f64 - (1.0 / s) * (1.0 / s)).abs() < 1e-6, "{taps:?}");
        assert!((taps.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Radius 1.5 covers the 3x3 square; smoothing widens it to 5x5.
        assert_eq!(disk(1.5, 0.1).1, 5);
    }

    #[test]
    fn zoom_table_follows_clipped_zoom() {
        // A factor of 1.01 on 32 pixels crops ceil(31.68) = 32 and zooms to round(32.32) = 32:
        // the identity.
        assert_eq!(zoom_table([1, 1, 32, 32], &[1.01]), vec![0.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
        // 1.25: crop 26 from row 3, zoomed to round(32.5) = 32 (ties to even), trim 0.
        let t = zoom_table([1, 1, 32, 32], &[1.25]);
        assert_eq!(&t[..3], &[3.0, 25.0 / 31.0, 0.0]);
    }
}
