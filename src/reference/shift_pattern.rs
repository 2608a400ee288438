//! References for `shaders/shift_pattern.wgsl`.

use super::shift_noise::draw;
use crate::kernels::Pattern;

/// MNIST-C's line_from_points at pixel (row, col): the segment (c0, r0) -> (c1, r1).
fn segment(c0: f64, r0: f64, c1: f64, r1: f64, row: f64, col: f64) -> f64 {
    if c1 == c0 || col < c0.floor() || col >= c1.ceil() {
        return 0.0;
    }
    let t = (row - ((r1 - r0) / (c1 - c0) * (col - c0) + r0)).abs();
    if t >= 2.3 {
        return 0.0;
    }
    ((1.0 - t / 2.3).ln() + 1.0).clamp(0.0, 1.0)
}

/// A row in [0, h - 2] for line k of example e.
fn row_draw(seed: u32, e: u32, k: u32, stream: u32, h: usize) -> f64 {
    (draw(seed, e, k, stream) * (h.max(2) - 1) as f64).floor()
}

/// The segments of zigzag k of example e on an image w wide: MNIST-C's endpoints.
fn zigzag_segments(seed: u32, e: u32, k: u32, h: usize, w: usize) -> Vec<[f64; 4]> {
    let (a, b, c0, c1) = (2.0, 2.0, 2.0, w as f64 - 3.0);
    if c1 - c0 < a {
        return Vec::new();
    }
    let r0 = row_draw(seed, e, k, 0, h);
    let r1 = r0 + (draw(seed, e, k, 1) * 10.0).floor() - 5.0;
    let theta = ((r1 - r0) / (c1 - c0)).atan();
    let d = (c1 - c0) / theta.cos();
    let teeth = ((d - a) / (2.0 * a)).floor() as usize + 1;
    let mut points = vec![(0.0, 0.0)];
    points.extend((0..teeth).map(|j| ((2 * j + 1) as f64 * a, if j.is_multiple_of(2) { b } else { -b })));
    let max_c = 2.0 * a * (d / (2.0 * a)).floor();
    if d != max_c {
        let last = if (teeth - 1).is_multiple_of(2) { b } else { -b };
        points.push((d, last / (2.0 * (d - max_c))));
    }
    let placed: Vec<(f64, f64)> = points.iter().map(|&(u, v)| (theta.cos() * u - theta.sin() * v + c0, theta.sin() * u + theta.cos() * v + r0)).collect();
    placed.windows(2).map(|s| [s[0].0, s[0].1, s[1].0, s[1].1]).collect()
}

/// x [n, c, h, w] with `pattern` drawn k times, as the shader draws it.
pub fn shift_pattern(pattern: Pattern, x: &[f32], [n, c, h, w]: [usize; 4], k: u32, seed: u32) -> Vec<f32> {
    assert_eq!(x.len(), n * c * h * w);
    let mut out = x.to_vec();
    for e in 0..n {
        let segments: Vec<[f64; 4]> = match pattern {
            Pattern::Stripe => Vec::new(),
            Pattern::DottedLine => (0..k).map(|l| [0.0, row_draw(seed, e as u32, l, 0, h), (w - 1) as f64, row_draw(seed, e as u32, l, 1, h)]).collect(),
            Pattern::Zigzag => (0..k).flat_map(|l| zigzag_segments(seed, e as u32, l, h, w)).collect(),
        };
        for ch in 0..c {
            for y in 0..h {
                for col in 0..w {
                    let at = ((e * c + ch) * h + y) * w + col;
                    let v = x[at] as f64;
                    let add = |on: bool| if on { segments.iter().map(|s| segment(s[0], s[1], s[2], s[3], y as f64, col as f64)).sum::<f64>() } else { 0.0 };
                    out[at] = match pattern {
                        Pattern::Stripe if col < k as usize || col + k as usize >= w => 1.0 - x[at],
                        Pattern::Stripe => x[at],
                        Pattern::DottedLine => (v + add((col / 2) % 2 == 1)).clamp(0.0, 1.0) as f32,
                        Pattern::Zigzag => (v + add(true)).clamp(0.0, 1.0) as f32,
                    };
                }
            }
        }
    }
    out
}
