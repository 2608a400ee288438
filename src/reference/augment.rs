//! References for `shaders/augment.wgsl`.

use super::common::{pcg, uniform01};

/// Example `e`'s draws under `seed`: its shift (dy, dx), each in [-pad, pad], and whether it
/// is flipped (only with `flip`).
pub fn augment_draws(seed: u32, e: u32, pad: usize, flip: bool) -> (i64, i64, bool) {
    let shift = |stream: u32| (pcg(e ^ pcg(seed ^ pcg(stream))) % (2 * pad as u32 + 1)) as i64 - pad as i64;
    (shift(0), shift(1), flip && uniform01(seed, e, 2) < 0.5)
}

/// x [n, c, h, w] with example e's pixel (y, x) taken from (y + dy, x' + dx), x' = w - 1 - x
/// where it is flipped, else x; 0 where that falls outside the image.
pub fn augment(src: &[f32], [n, c, h, w]: [usize; 4], pad: usize, flip: bool, seed: u32) -> Vec<f32> {
    let mut dst = vec![0f32; n * c * h * w];
    for e in 0..n {
        let (dy, dx, flipped) = augment_draws(seed, e as u32, pad, flip);
        for ch in 0..c {
            let plane = (e * c + ch) * h * w;
            for y in 0..h {
                for x in 0..w {
                    let (sy, sx) = (y as i64 + dy, if flipped { (w - 1 - x) as i64 } else { x as i64 } + dx);
                    if (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx) {
                        dst[plane + y * w + x] = src[plane + sy as usize * w + sx as usize];
                    }
                }
            }
        }
    }
    dst
}
