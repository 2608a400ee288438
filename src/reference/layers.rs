/// x[o, c, i] += bias[c].
pub fn bias_add(x: &mut [f32], bias: &[f32], channels: usize, inner: usize) {
    for (i, v) in x.iter_mut().enumerate() {
        *v += bias[(i / inner) % channels];
    }
}

/// db[c] = sum over o, i of dy[o, c, i].
pub fn bias_grad(dy: &[f32], channels: usize, inner: usize) -> Vec<f32> {
    let mut db = vec![0f64; channels];
    for (i, v) in dy.iter().enumerate() {
        db[(i / inner) % channels] += *v as f64;
    }
    db.into_iter().map(|v| v as f32).collect()
}

pub fn relu_forward(x: &[f32]) -> Vec<f32> {
    x.iter().map(|v| v.max(0.0)).collect()
}

/// dy masked where the forward output y is not positive.
pub fn relu_backward(y: &[f32], dy: &[f32]) -> Vec<f32> {
    y.iter().zip(dy).map(|(y, d)| if *y > 0.0 { *d } else { 0.0 }).collect()
}

/// 2x2 stride-2 max-pool over planes of h x w; returns (y, argmax in-plane index).
pub fn maxpool2_forward(x: &[f32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<u32>) {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = Vec::with_capacity(planes * oh * ow);
    let mut arg = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = (2 * oy) * w + 2 * ox;
                for d in 1..4 {
                    let pos = (2 * oy + d / 2) * w + 2 * ox + d % 2;
                    if x[p * h * w + pos] > x[p * h * w + best] {
                        best = pos;
                    }
                }
                y.push(x[p * h * w + best]);
                arg.push(best as u32);
            }
        }
    }
    (y, arg)
}

pub fn maxpool2_backward(dy: &[f32], argmax: &[u32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut dx = vec![0f32; planes * h * w];
    for p in 0..planes {
        for o in 0..oh * ow {
            dx[p * h * w + argmax[p * oh * ow + o] as usize] += dy[p * oh * ow + o];
        }
    }
    dx
}

/// x with the entries where mask == 0 set to 0.
pub fn apply_mask(mask: &[f32], x: &[f32]) -> Vec<f32> {
    mask.iter().zip(x).map(|(&m, &v)| if m != 0.0 { v } else { 0.0 }).collect()
}

/// The N:M mask of w [rows, k]: the `keep` largest |w| of each group of `group` along a row,
/// ties to the lower index.
pub fn nm_mask(w: &[f32], k: usize, keep: usize, group: usize) -> Vec<f32> {
    (0..w.len())
        .map(|i| {
            let (row, c) = (i - i % k, i % k);
            let g0 = c - c % group;
            let rank = (g0..(g0 + group).min(k)).filter(|&j| w[row + j].abs() > w[i].abs() || (w[row + j].abs() == w[i].abs() && j < c)).count();
            (rank < keep) as u32 as f32
        })
        .collect()
}

/// max(x, mask) elementwise: the union of two 0/1 masks.
pub fn mask_union(mask: &[f32], x: &[f32]) -> Vec<f32> {
    mask.iter().zip(x).map(|(&m, &v)| v.max(m)).collect()
}
