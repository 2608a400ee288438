//! Interval bound propagation, plainly: boxes as (centre, radius) vectors, in f64 where sums
//! are involved. Mirrors `shaders/ibp.wgsl`.

/// The box of the L-inf ball of radius eps around x, clipped to [0, 1].
pub fn ibp_input(x: &[f32], eps: f32) -> (Vec<f32>, Vec<f32>) {
    x.iter().map(|&v| box_of((v - eps).max(0.0), (v + eps).min(1.0))).unzip()
}

fn box_of(lo: f32, hi: f32) -> (f32, f32) {
    (0.5 * (hi + lo), 0.5 * (hi - lo))
}

pub fn ibp_relu(c: &[f32], r: &[f32]) -> (Vec<f32>, Vec<f32>) {
    c.iter().zip(r).map(|(&c, &r)| box_of((c - r).max(0.0), (c + r).max(0.0))).unzip()
}

/// The gradient with respect to relu's input box (c, r) from the output box's (dc, dr).
pub fn ibp_relu_backward(c: &[f32], r: &[f32], dc: &[f32], dr: &[f32]) -> (Vec<f32>, Vec<f32>) {
    (0..c.len())
        .map(|i| {
            let dlo = if c[i] - r[i] > 0.0 { 0.5 * (dc[i] - dr[i]) } else { 0.0 };
            let dhi = if c[i] + r[i] > 0.0 { 0.5 * (dc[i] + dr[i]) } else { 0.0 };
            (dhi + dlo, dhi - dlo)
        })
        .unzip()
}

/// 2x2 stride-2 max-pool of the box: (c, r, argmax of the lower corner, of the upper corner).
pub fn ibp_maxpool(c: &[f32], r: &[f32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<f32>, Vec<u32>, Vec<u32>) {
    let lo: Vec<f32> = c.iter().zip(r).map(|(c, r)| c - r).collect();
    let hi: Vec<f32> = c.iter().zip(r).map(|(c, r)| c + r).collect();
    let (lo_y, arg_lo) = super::maxpool2_forward(&lo, planes, h, w);
    let (hi_y, arg_hi) = super::maxpool2_forward(&hi, planes, h, w);
    let (c, r) = lo_y.iter().zip(&hi_y).map(|(&l, &u)| box_of(l, u)).unzip();
    (c, r, arg_lo, arg_hi)
}

#[allow(clippy::too_many_arguments)]
pub fn ibp_maxpool_backward(dc: &[f32], dr: &[f32], arg_lo: &[u32], arg_hi: &[u32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
    let dlo: Vec<f32> = dc.iter().zip(dr).map(|(c, r)| 0.5 * (c - r)).collect();
    let dhi: Vec<f32> = dc.iter().zip(dr).map(|(c, r)| 0.5 * (c + r)).collect();
    let gl = super::maxpool2_backward(&dlo, arg_lo, planes, h, w);
    let gh = super::maxpool2_backward(&dhi, arg_hi, planes, h, w);
    gl.iter().zip(&gh).map(|(l, u)| (u + l, u - l)).unzip()
}

/// Upper bounds of z_j - z_y, [n, classes], for the linear layer (w [classes, k], b) on the
/// box (c, r) [n, k]; 0 at the label.
pub fn ibp_margin(c: &[f32], r: &[f32], w: &[f32], b: &[f32], labels: &[u32], classes: usize, k: usize) -> Vec<f32> {
    let mut out = vec![0f32; labels.len() * classes];
    for (e, &y) in labels.iter().enumerate() {
        let y = y as usize;
        for j in (0..classes).filter(|&j| j != y) {
            let mut s = b[j] as f64 - b[y] as f64;
            for q in 0..k {
                let d = w[j * k + q] as f64 - w[y * k + q] as f64;
                s += d * c[e * k + q] as f64 + d.abs() * r[e * k + q] as f64;
            }
            out[e * classes + j] = s as f32;
        }
    }
    out
}

/// The gradients of `ibp_margin`'s outputs weighted by dworst: (dc, dr, dw, db).
pub fn ibp_margin_backward(dworst: &[f32], c: &[f32], r: &[f32], w: &[f32], labels: &[u32], classes: usize, k: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let n = labels.len();
    let (mut dc, mut dr) = (vec![0f64; n * k], vec![0f64; n * k]);
    let (mut dw, mut db) = (vec![0f64; classes * k], vec![0f64; classes]);
    for (e, &y) in labels.iter().enumerate() {
        let y = y as usize;
        for j in (0..classes).filter(|&j| j != y) {
            let g = dworst[e * classes + j] as f64;
            db[j] += g;
            db[y] -= g;
            for q in 0..k {
                let d = w[j * k + q] as f64 - w[y * k + q] as f64;
                dc[e * k + q] += g * d;
                dr[e * k + q] += g * d.abs();
                let t = g * (c[e * k + q] as f64 + sign(d) * r[e * k + q] as f64);
                dw[j * k + q] += t;
                dw[y * k + q] -= t;
            }
        }
    }
    let f = |v: Vec<f64>| v.into_iter().map(|x| x as f32).collect();
    (f(dc), f(dr), f(dw), f(db))
}

/// upper(z_j) - lower(z_y) from the logits' box [n, classes]; 0 at the label.
pub fn ibp_worst_from_bounds(c: &[f32], r: &[f32], labels: &[u32], classes: usize) -> Vec<f32> {
    let mut out = vec![0f32; labels.len() * classes];
    for (e, &y) in labels.iter().enumerate() {
        let (b, y) = (e * classes, y as usize);
        for j in (0..classes).filter(|&j| j != y) {
            out[b + j] = (c[b + j] + r[b + j]) - (c[b + y] - r[b + y]);
        }
    }
    out
}

/// sign(x) with sign(0) = 0, as WGSL's `sign`.
fn sign(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x.signum()
    }
}
