//! References for `shaders/wta.wgsl`.

/// Per example of x [n, c, hw]: (mask [c], kept indices ascending) keeping the `keep` channels
/// of largest L1 mass, ties to the lower index.
pub fn wta_select(x: &[f32], n: usize, c: usize, hw: usize, keep: usize) -> (Vec<f32>, Vec<u32>) {
    let (mut mask, mut kept) = (Vec::new(), Vec::new());
    for e in 0..n {
        // Summed in f32 in the kernel's order, so equal masses compare equal in both.
        let score: Vec<f32> = (0..c).map(|ch| x[(e * c + ch) * hw..(e * c + ch + 1) * hw].iter().fold(0f32, |s, v| s + v.abs())).collect();
        let mut order: Vec<usize> = (0..c).collect();
        order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
        let mut m = vec![0f32; c];
        for &ch in &order[..keep] {
            m[ch] = 1.0;
        }
        kept.extend((0..c).filter(|&ch| m[ch] == 1.0).map(|ch| ch as u32));
        mask.extend(m);
    }
    (mask, kept)
}

pub fn wta_apply(x: &[f32], mask: &[f32], hw: usize) -> Vec<f32> {
    x.iter().enumerate().map(|(i, v)| v * mask[i / hw]).collect()
}
