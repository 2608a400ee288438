//! References for `shaders/gradient_similarity.wgsl`, row by row of [n, d] batches.

fn norm(row: &[f32]) -> f64 {
    row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt()
}

/// (cos(a_i, b_i), |a_i|, |b_i|, 0) per row; cos is 0 where either norm is 0.
pub fn row_cosine(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let d = a.len() / n.max(1);
    (0..n)
        .flat_map(|i| {
            let (ra, rb) = (&a[i * d..(i + 1) * d], &b[i * d..(i + 1) * d]);
            let (na, nb) = (norm(ra), norm(rb));
            let dot: f64 = ra.iter().zip(rb).map(|(&u, &v)| u as f64 * v as f64).sum();
            let c = if na > 0.0 && nb > 0.0 { (dot / (na * nb)).clamp(-1.0, 1.0) } else { 0.0 };
            [c as f32, na as f32, nb as f32, 0.0]
        })
        .collect()
}

/// ([x ; x + h u ; x - h u], weights) with u_i = b_i/|b_i| - cos_i a_i/|a_i| from `stats`;
/// a pair's weight is 0 where |a_i| <= min_norm.
#[allow(clippy::too_many_arguments)]
pub fn unpair_points(x: &[f32], a: &[f32], b: &[f32], stats: &[f32], h: f32, clean: f32, pair: f32, min_norm: f32) -> (Vec<f32>, Vec<f32>) {
    let n = stats.len() / 4;
    let d = x.len() / n.max(1);
    let unit = |v: f32, norm: f32| if norm > 0.0 { v as f64 / norm as f64 } else { 0.0 };
    let u: Vec<f64> = (0..n * d)
        .map(|j| {
            let s = &stats[4 * (j / d)..4 * (j / d) + 4];
            unit(b[j], s[2]) - s[0] as f64 * unit(a[j], s[1])
        })
        .collect();
    let mut points = x.to_vec();
    points.extend(x.iter().zip(&u).map(|(&v, &u)| (v as f64 + h as f64 * u) as f32));
    points.extend(x.iter().zip(&u).map(|(&v, &u)| (v as f64 - h as f64 * u) as f32));
    let pair_w: Vec<f32> = (0..n).map(|i| if stats[4 * i + 1] > min_norm && stats[4 * i + 1] > 0.0 { (pair as f64 * stats[4 * i] as f64 / stats[4 * i + 1] as f64) as f32 } else { 0.0 }).collect();
    let mut weights = vec![clean; n];
    weights.extend(&pair_w);
    weights.extend(pair_w.iter().map(|w| -w));
    (points, weights)
}

pub fn scale_rows(m: &[f32], weights: &[f32]) -> Vec<f32> {
    let cols = m.len() / weights.len().max(1);
    m.chunks(cols).zip(weights).flat_map(|(r, &w)| r.iter().map(move |&v| v * w)).collect()
}
