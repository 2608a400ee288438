
// ---- shaders/common/bilinear.wgsl (appended by src/kernels/shaders.rs) ----------------------

// Border handling and bilinear sampling for the image corruptions (shift_blur.wgsl,
// shift_warp.wgsl). The including file declares `p` (with `h`, `w`) and `src`.
// (`aer::reference::common::border_index`, `sample_bilinear`.)

// Index i of an axis of length n under border mode `mode`: 0 outside reads as 0 (returns -1;
// scikit-image's 'constant'), 1 the nearest edge pixel ('nearest', ImageMagick's 'edge'),
// 2 half-sample symmetric (scipy's 'reflect': d c b a | a b c d), 3 whole-sample symmetric
// (OpenCV's BORDER_REFLECT_101: d c b | a b c d).
fn border_index(i: i32, n: i32, mode: u32) -> i32 {
    if (i >= 0 && i < n) { return i; }
    if (mode == 0u) { return -1; }
    if (mode == 1u || n == 1) { return clamp(i, 0, n - 1); }
    if (mode == 2u) {
        let m = ((i % (2 * n)) + 2 * n) % (2 * n);
        return select(m, 2 * n - 1 - m, m >= n);
    }
    let period = 2 * n - 2;
    let m = ((i % period) + period) % period;
    return select(m, period - m, m >= n);
}

// src[base + row * w + col] under `mode`; 0 where the mode fills with 0.
fn border_read(base: u32, row: i32, col: i32, mode: u32) -> f32 {
    let r = border_index(row, i32(p.h), mode);
    let c = border_index(col, i32(p.w), mode);
    if (r < 0 || c < 0) { return 0.0; }
    return src[base + u32(r) * p.w + u32(c)];
}

// The plane at `base` sampled bilinearly at (fy, fx) (row, column), neighbours under `mode`.
fn sample_bilinear(base: u32, fy: f32, fx: f32, mode: u32) -> f32 {
    let y0 = floor(fy);
    let x0 = floor(fx);
    let ty = fy - y0;
    let tx = fx - x0;
    let r = i32(y0);
    let c = i32(x0);
    let top = (1.0 - tx) * border_read(base, r, c, mode) + tx * border_read(base, r, c + 1, mode);
    let bottom = (1.0 - tx) * border_read(base, r + 1, c, mode) + tx * border_read(base, r + 1, c + 1, mode);
    return (1.0 - ty) * top + ty * bottom;
}
