//! References for `shaders/hypersphere.wgsl`, row by row of a weight [n, k].

fn norm(row: &[f32]) -> f64 {
    row.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt()
}

pub fn row_norms(w: &[f32], n: usize) -> Vec<f32> {
    w.chunks(w.len() / n.max(1)).map(|r| norm(r) as f32).collect()
}

pub fn sphere_project(w: &[f32], radius: &[f32]) -> Vec<f32> {
    let k = w.len() / radius.len().max(1);
    w.chunks(k)
        .zip(radius)
        .flat_map(|(r, &rad)| {
            let n = norm(r);
            r.iter().map(move |&v| if n == 0.0 { v } else { (v as f64 * rad as f64 / n) as f32 })
        })
        .collect()
}

pub fn ternary_reinit(w: &[f32], radius: &[f32]) -> Vec<f32> {
    let k = w.len() / radius.len().max(1);
    w.chunks(k)
        .zip(radius)
        .flat_map(|(r, &rad)| {
            let nz = r.iter().filter(|&&v| v != 0.0).count();
            let a = if nz == 0 { 0.0 } else { (rad as f64 / (nz as f64).sqrt()) as f32 };
            r.iter().map(move |&v| if v == 0.0 { 0.0 } else { a.copysign(v) })
        })
        .collect()
}
