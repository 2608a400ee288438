//! References for `shaders/select.wgsl`.

/// The shader's key of |v|: its bits (NaN and above clamped to infinity's), plus one.
pub fn magnitude_keys(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.abs().to_bits().min(0x7f80_0000) + 1).collect()
}

/// 1 for the k largest non-zero keys, ties to the lower index.
pub fn select_top_k(keys: &[u32], k: usize) -> Vec<f32> {
    let mut order: Vec<usize> = (0..keys.len()).filter(|&i| keys[i] > 0).collect();
    order.sort_by(|&a, &b| keys[b].cmp(&keys[a]).then(a.cmp(&b)));
    let mut mask = vec![0f32; keys.len()];
    for &i in order.iter().take(k) {
        mask[i] = 1.0;
    }
    mask
}

/// keys with those of non-candidates set to 0: candidates are where mask != 0 (`active`) or
/// where mask == 0.
pub fn restrict_keys(keys: &[u32], mask: &[f32], active: bool) -> Vec<u32> {
    keys.iter().zip(mask).map(|(&k, &m)| if (m != 0.0) == active { k } else { 0 }).collect()
}
