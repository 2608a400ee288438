//! Products through an 8-bit multiplier's table, plainly (see `shaders/approx.wgsl`).

use crate::kernels::ActivationLayout;

pub fn absmax(x: &[f32]) -> f32 {
    x.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// round(x * 127 / max), ties to even, in [-127, 127].
pub fn quantize_i8(x: &[f32], max: f32) -> Vec<i32> {
    x.iter().map(|&v| if max > 0.0 { (v * (127.0 / max)).round_ties_even().clamp(-127.0, 127.0) as i32 } else { 0 }).collect()
}

/// (max_x / 127) (max_w / 127) sum_k table[qx, qw] for qx laid out as `layout` (m rows of k)
/// and qw [n, k].
#[allow(clippy::too_many_arguments)]
pub fn lut_matmul(qx: &[i32], qw: &[i32], table: &[i32], max_x: f32, max_w: f32, m: usize, n: usize, k: usize, layout: ActivationLayout) -> Vec<f32> {
    let mut y = vec![0f32; m * n];
    for r in 0..m {
        for c in 0..n {
            let acc: i64 = (0..k)
                .map(|q| {
                    let a = if layout.trans_x { qx[q * m + r] } else { qx[r * k + q] };
                    table[(((a & 255) as usize) << 8) | (qw[c * k + q] & 255) as usize] as i64
                })
                .sum();
            let v = acc as i32 as f32 * (max_x / 127.0) * (max_w / 127.0);
            if layout.trans_y { y[c * m + r] = v } else { y[r * n + c] = v }
        }
    }
    y
}
