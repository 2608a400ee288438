//! References for `shaders/shift_edges.wgsl`.

use crate::kernels::canny_steps;

/// Gaussian smoothing (sigma 1, radius 4) of one h x w plane, renormalised inside the image.
fn smooth(x: &[f32], h: usize, w: usize) -> Vec<f64> {
    let mut s = vec![0.0; h * w];
    for y in 0..h as i64 {
        for x0 in 0..w as i64 {
            let (mut sum, mut weights) = (0.0, 0.0);
            for yy in (y - 4).max(0)..(y + 5).min(h as i64) {
                for xx in (x0 - 4).max(0)..(x0 + 5).min(w as i64) {
                    let k = (-0.5 * ((yy - y).pow(2) + (xx - x0).pow(2)) as f64).exp();
                    sum += k * x[yy as usize * w + xx as usize] as f64;
                    weights += k;
                }
            }
            s[y as usize * w + x0 as usize] = sum / weights;
        }
    }
    s
}

/// Edge states of one plane after the double threshold: 2 strong, 1 weak, 0 none.
fn classify(s: &[f64], h: usize, w: usize, low: f64, high: f64) -> Vec<u8> {
    let at = |y: i64, x: i64| s[y.clamp(0, h as i64 - 1) as usize * w + x.clamp(0, w as i64 - 1) as usize];
    let gradient = |y: i64, x: i64| {
        let (mut gi, mut gj) = (0.0, 0.0);
        for d in -1..=1 {
            let k = if d == 0 { 2.0 } else { 1.0 };
            gi += k * (at(y + 1, x + d) - at(y - 1, x + d));
            gj += k * (at(y + d, x + 1) - at(y + d, x - 1));
        }
        (gi, gj)
    };
    let magnitude = |y: i64, x: i64| {
        let (gi, gj) = gradient(y, x);
        gi.hypot(gj)
    };
    let mut state = vec![0u8; h * w];
    for y in 1..h as i64 - 1 {
        for x in 1..w as i64 - 1 {
            let (gi, gj) = gradient(y, x);
            let m = gi.hypot(gj);
            let above = |a: (i64, i64), b: (i64, i64), t: f64| magnitude(y + b.0, x + b.1) * t + magnitude(y + a.0, x + a.1) * (1.0 - t) <= m;
            let (ai, aj) = (gi.abs(), gj.abs());
            let same = (gi >= 0.0 && gj >= 0.0) || (gi <= 0.0 && gj <= 0.0);
            let opposite = (gi <= 0.0 && gj >= 0.0) || (gi >= 0.0 && gj <= 0.0);
            // skimage's sectors; where they overlap, the later one decides.
            let maximum = if opposite && ai >= aj {
                above((-1, 0), (-1, 1), aj / ai) && above((1, 0), (1, -1), aj / ai)
            } else if opposite && ai <= aj {
                above((0, 1), (-1, 1), ai / aj) && above((0, -1), (1, -1), ai / aj)
            } else if same && ai <= aj {
                above((0, 1), (1, 1), ai / aj) && above((0, -1), (-1, -1), ai / aj)
            } else {
                same && ai >= aj && above((1, 0), (1, 1), aj / ai) && above((-1, 0), (-1, -1), aj / ai)
            };
            state[y as usize * w + x as usize] = match () {
                _ if maximum && m >= high => 2,
                _ if maximum && m >= low => 1,
                _ => 0,
            };
        }
    }
    state
}

/// (1 - a) x + a edges for each channel of x [n, c, h, w]: the shader's passes, with as many
/// hysteresis steps (each a weak pixel next to a strong one turning strong).
pub fn canny_edges(x: &[f32], [n, c, h, w]: [usize; 4], low: f32, high: f32, a: f32) -> Vec<f32> {
    assert_eq!(x.len(), n * c * h * w);
    let mut out = Vec::with_capacity(x.len());
    for plane in x.chunks(h * w) {
        let mut state = classify(&smooth(plane, h, w), h, w, low as f64, high as f64);
        for _ in 0..canny_steps(h, w) {
            let prev = state.clone();
            for y in 0..h {
                for col in 0..w {
                    let strong_near = (y.saturating_sub(1)..(y + 2).min(h)).any(|yy| (col.saturating_sub(1)..(col + 2).min(w)).any(|xx| prev[yy * w + xx] == 2));
                    if prev[y * w + col] == 1 && strong_near {
                        state[y * w + col] = 2;
                    }
                }
            }
        }
        let a = a as f64;
        out.extend(plane.iter().zip(&state).map(|(&v, &s)| ((1.0 - a) * v as f64 + a * (s == 2) as u8 as f64).clamp(0.0, 1.0) as f32));
    }
    out
}
