//! Shear, scale, rotate, translate (MNIST-C: scikit-image's warp with an AffineTransform
//! that keeps the image centre fixed, bilinear, 0 outside) and the elastic transform
//! (CIFAR-10-C: a random affine by OpenCV, then a smooth random displacement field).

use super::program::{Shape, Step};
use super::{Gaussian, Job};
use crate::kernels::{Border, Draw};

const SHEAR: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];
const ROTATE: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 1.0];
const SCALE: [f64; 5] = [1.0 / 0.9, 1.0 / 0.8, 1.0 / 0.7, 1.0 / 0.6, 1.0 / 0.5];
const TRANSLATE: [f64; 5] = [1.0, 2.0, 3.0, 4.0, 5.0];
/// elastic (alpha, sigma, affine) as fractions of the image size (CIFAR-10-C's IMSIZE = 32).
const ELASTIC: [(f64, f64, f64); 5] = [(0.0, 0.0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)];

pub(super) fn steps(name: &str, job: &Job) -> Option<Vec<Step>> {
    let shape = job.shape;
    let sign = |e: usize, k: u32| if job.draw(e, k) < 0.5 { -1.0 } else { 1.0 };
    let maps: Vec<[f64; 6]> = match name {
        "shear" => (0..shape[0]).map(|e| centred(shape, 1.0, -(SHEAR[job.level] * sign(e, 0)).sin(), 0.0, (SHEAR[job.level] * sign(e, 0)).cos())).collect(),
        "rotate" => (0..shape[0])
            .map(|e| {
                let r = ROTATE[job.level] * sign(e, 0);
                centred(shape, r.cos(), -r.sin(), r.sin(), r.cos())
            })
            .collect(),
        "scale" => vec![centred(shape, SCALE[job.level], 0.0, 0.0, SCALE[job.level]); shape[0]],
        "translate" => (0..shape[0]).map(|e| [1.0, 0.0, TRANSLATE[job.level] * sign(e, 0), 0.0, 1.0, TRANSLATE[job.level] * sign(e, 1)]).collect(),
        "elastic" => return Some(elastic(job)),
        _ => return None,
    };
    Some(vec![Step::Affine { src: 0, shape, maps: flatten(&maps), border: Border::Zero }])
}

fn flatten(maps: &[[f64; 6]]) -> Vec<f32> {
    maps.iter().flatten().map(|&v| v as f32).collect()
}

/// The inverse map (a, b, tx, c, d, ty) of the linear part [[a, b], [c, d]] with the
/// translation that keeps the centre ((w - 1) / 2, (h - 1) / 2) fixed, as MNIST-C adds it.
fn centred([_, _, h, w]: Shape, a: f64, b: f64, c: f64, d: f64) -> [f64; 6] {
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    [a, b, cx - a * cx - b * cy, c, d, cy - c * cx - d * cy]
}

/// CIFAR-10-C's elastic transform: three points about the centre moved by uniform draws in
/// [-affine, affine] define an affine map (OpenCV's getAffineTransform, warpAffine with
/// BORDER_REFLECT_101); then every pixel moves by alpha times uniform noise in [-1, 1]
/// blurred by a Gaussian of `sigma` (truncated at 3 sigma), sampled bilinearly with scipy's
/// 'reflect' border.
fn elastic(job: &Job) -> Vec<Step> {
    let shape @ [n, _, h, w] = job.shape;
    let size = h.min(w) as f64;
    let (alpha, sigma, affine) = ELASTIC[job.level];
    let (cx, cy, s) = ((h / 2) as f64, (w / 2) as f64, (h.min(w) / 3) as f64);
    let from = [[cx + s, cy + s], [cx + s, cy - s], [cx - s, cy - s]];
    let maps: Vec<[f64; 6]> = (0..n)
        .map(|e| {
            let to: Vec<[f64; 2]> = (0..3).map(|p| [0, 1].map(|k| from[p][k] + affine * size * (2.0 * job.draw(e, (2 * p + k) as u32) - 1.0))).collect();
            invert(&three_point_affine(&from, &to))
        })
        .collect();
    let mut steps = vec![Step::Affine { src: 0, shape, maps: flatten(&maps), border: Border::Reflect101 }];
    if alpha == 0.0 {
        return steps;
    }
    // The field [n, 2, h, w] (dx, then dy), blurred as n * 2 planes.
    let planes = [n, 2, h, w];
    steps.push(Step::Field { shape: planes, draw: Draw::Uniform { lo: -1.0, hi: 1.0 }, seed: job.seed, stream: job.stream + 8 });
    let g = Gaussian { sigma: sigma * size, truncate: 3.0, gain: alpha * size, border: Border::Reflect, clamp01: false, rows_only: false };
    steps.extend(g.steps(2, 3, [n * 2, 1, h, w]));
    steps.push(Step::Displace { src: 1, field: 4, shape, border: Border::Reflect });
    steps
}

/// The affine map (a, b, tx, c, d, ty) taking the three points `from` onto `to`
/// (getAffineTransform), by Cramer's rule.
fn three_point_affine(from: &[[f64; 2]; 3], to: &[[f64; 2]]) -> [f64; 6] {
    let det3 = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let rows = |col: Option<[f64; 3]>, at: usize| -> [[f64; 3]; 3] {
        std::array::from_fn(|i| {
            let mut r = [from[i][0], from[i][1], 1.0];
            if let Some(c) = col {
                r[at] = c[i];
            }
            r
        })
    };
    let d = det3(rows(None, 0));
    let solve = |k: usize| {
        let target = [to[0][k], to[1][k], to[2][k]];
        [0, 1, 2].map(|at| det3(rows(Some(target), at)) / d)
    };
    let (x, y) = (solve(0), solve(1));
    [x[0], x[1], x[2], y[0], y[1], y[2]]
}

/// The inverse of an affine map (a, b, tx, c, d, ty).
fn invert([a, b, tx, c, d, ty]: &[f64; 6]) -> [f64; 6] {
    let det = a * d - b * c;
    let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
    [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_points_give_the_affine_map_and_its_inverse() {
        let from = [[26.0, 26.0], [26.0, 6.0], [6.0, 6.0]];
        let m = [1.1, 0.2, -3.0, -0.1, 0.9, 2.0];
        let to: Vec<[f64; 2]> = from.iter().map(|p| [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]]).collect();
        let got = three_point_affine(&from, &to);
        let back = invert(&invert(&got));
        for k in 0..6 {
            assert!((got[k] - m[k]).abs() < 1e-9 && (back[k] - m[k]).abs() < 1e-9, "{got:?} {back:?}");
        }
    }

    #[test]
    fn centred_maps_keep_the_centre() {
        let m = centred([1, 1, 28, 28], 0.8f64.cos(), -0.8f64.sin(), 0.8f64.sin(), 0.8f64.cos());
        assert!((m[0] * 13.5 + m[1] * 13.5 + m[2] - 13.5).abs() < 1e-12 && (m[3] * 13.5 + m[4] * 13.5 + m[5] - 13.5).abs() < 1e-12);
    }
}
