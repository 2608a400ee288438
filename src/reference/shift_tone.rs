//! References for `shaders/shift_tone.wgsl`.

use crate::kernels::Tone;

/// `tone` of strength a on x [n, c, h, w].
pub fn shift_tone(tone: Tone, x: &[f32], [n, c, h, w]: [usize; 4], a: f32) -> Vec<f32> {
    let hw = h * w;
    assert_eq!(x.len(), n * c * hw);
    let a = a as f64;
    let mut out = vec![0f32; x.len()];
    for e in 0..n {
        let image = e * c * hw;
        match tone {
            Tone::Brightness => {
                for j in 0..hw {
                    let v = (0..c).map(|ch| x[image + ch * hw + j] as f64).fold(0.0, f64::max);
                    let raised = (v + a).clamp(0.0, 1.0);
                    for ch in 0..c {
                        let at = image + ch * hw + j;
                        out[at] = if v > 0.0 { (x[at] as f64 * raised / v).clamp(0.0, 1.0) } else { raised } as f32;
                    }
                }
            }
            Tone::Contrast => {
                for ch in 0..c {
                    let plane = &x[image + ch * hw..image + (ch + 1) * hw];
                    let m = plane.iter().map(|&v| v as f64).sum::<f64>() / hw as f64;
                    for (j, &v) in plane.iter().enumerate() {
                        out[image + ch * hw + j] = ((v as f64 - m) * a + m).clamp(0.0, 1.0) as f32;
                    }
                }
            }
        }
    }
    out
}
