//! References for `shaders/mask.wgsl`.

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
