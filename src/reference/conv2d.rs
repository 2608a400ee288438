//! References for `shaders/conv2d.wgsl`: im2col, its adjoint col2im, and the two permutes
//! between [n, c, hw] and [c, n, hw].

use crate::kernels::Conv2dGeometry;

/// Calls `f(cols_index, x_index)` for every entry of the im2col matrix that reads the input
/// (entries in the zero padding are skipped).
fn for_each_patch_entry(g: &Conv2dGeometry, mut f: impl FnMut(usize, usize)) {
    let (oh, ow) = (g.oh(), g.ow());
    let ncols = g.positions();
    for ch in 0..g.c {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let row = (ch * g.kh + ky) * g.kw + kx;
                for img in 0..g.n {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let y = (oy * g.stride + ky) as isize - g.pad as isize;
                            let xx = (ox * g.stride + kx) as isize - g.pad as isize;
                            if y >= 0 && xx >= 0 && (y as usize) < g.h && (xx as usize) < g.w {
                                f(row * ncols + (img * oh + oy) * ow + ox, ((img * g.c + ch) * g.h + y as usize) * g.w + xx as usize);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// x [n, c, h, w] -> cols [c*kh*kw, n*oh*ow], zero outside the padded input.
pub fn im2col(g: &Conv2dGeometry, x: &[f32]) -> Vec<f32> {
    let mut cols = vec![0f32; g.patch() * g.positions()];
    for_each_patch_entry(g, |ci, xi| cols[ci] = x[xi]);
    cols
}

/// The adjoint of im2col: every column entry is added back to the input pixel it came from.
pub fn col2im(g: &Conv2dGeometry, cols: &[f32]) -> Vec<f32> {
    let mut x = vec![0f32; g.n * g.c * g.h * g.w];
    for_each_patch_entry(g, |ci, xi| x[xi] += cols[ci]);
    x
}

/// [c, n, hw] -> [n, c, hw].
pub fn permute_cnhw_to_nchw(src: &[f32], n: usize, c: usize, hw: usize) -> Vec<f32> {
    let mut dst = vec![0f32; src.len()];
    for ch in 0..c {
        for img in 0..n {
            for q in 0..hw {
                dst[(img * c + ch) * hw + q] = src[(ch * n + img) * hw + q];
            }
        }
    }
    dst
}

/// [n, c, hw] -> [c, n, hw].
pub fn permute_nchw_to_cnhw(src: &[f32], n: usize, c: usize, hw: usize) -> Vec<f32> {
    let mut dst = vec![0f32; src.len()];
    for ch in 0..c {
        for img in 0..n {
            for q in 0..hw {
                dst[(ch * n + img) * hw + q] = src[(img * c + ch) * hw + q];
            }
        }
    }
    dst
}
