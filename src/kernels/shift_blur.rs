use super::shaders::SHIFT_BLUR;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// How a kernel reads pixels outside the image (`shaders/common/bilinear.wgsl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// 0 (scikit-image's 'constant').
    Zero = 0,
    /// The nearest edge pixel (scikit-image's 'nearest', ImageMagick's edge pixels).
    Nearest = 1,
    /// Half-sample symmetric, d c b a | a b c d (scipy's 'reflect').
    Reflect = 2,
    /// Whole-sample symmetric, d c b | a b c d (OpenCV's BORDER_REFLECT_101).
    Reflect101 = 3,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    border: u32,
    flag: u32,
    seed: u32,
    stream: u32,
    delta: u32,
    _pad: u32,
}

fn params([n, c, h, w]: [usize; 4]) -> Params {
    let total = (n * c * h * w) as u32;
    Params { total, c: c as u32, h: h as u32, w: w as u32, kh: 0, kw: 0, border: 0, flag: 0, seed: 0, stream: 0, delta: 0, _pad: 0 }
}

fn launch(gpu: &Gpu, entry: &'static str, p: Params, tensors: &[&Tensor]) {
    gpu.launch(&Kernel { shader: &SHIFT_BLUR, entry }, &[], &p, tensors, grid_1d(p.total as usize));
}

/// dst [n, c, h, w] = src correlated with `taps` [kh, kw] (both odd, centred), pixels outside
/// read by `border`; clamped to [0, 1] with `clamp01` (images rather than fields).
#[allow(clippy::too_many_arguments)]
pub fn convolve(gpu: &Gpu, src: &Tensor, taps: &Tensor, dst: &Tensor, shape: [usize; 4], [kh, kw]: [usize; 2], border: Border, clamp01: bool) {
    assert!(kh % 2 == 1 && kw % 2 == 1 && taps.numel() == kh * kw, "convolve: taps must be [{kh}, {kw}] with both odd");
    let p = Params { kh: kh as u32, kw: kw as u32, border: border as u32, flag: clamp01 as u32, ..params(shape) };
    launch(gpu, "convolve", p, &[src, dst, taps]);
}

/// ImageMagick's one-sided motion blur of src [n, c, h, w] into dst: `taps` [k] weights along
/// example e's direction `dirs` [n, 2] = (cos, sin); edge pixels repeated outside.
pub fn motion_blur(gpu: &Gpu, src: &Tensor, taps: &Tensor, dirs: &Tensor, dst: &Tensor, shape: [usize; 4]) {
    assert_eq!(dirs.numel(), 2 * shape[0], "motion_blur: dirs must be [n, 2]");
    let p = Params { kw: taps.numel() as u32, ..params(shape) };
    launch(gpu, "motion_blur", p, &[src, dst, taps, dirs]);
}

/// dst = the mean of the zoomed copies of src [n, c, h, w] that `table` [zooms, 6] describes
/// ((top, scale, trim) for rows, then columns), with src itself as one more term when
/// `with_identity`.
pub fn zoom_blur(gpu: &Gpu, src: &Tensor, table: &Tensor, dst: &Tensor, shape: [usize; 4], with_identity: bool) {
    assert_eq!(table.numel() % 6, 0, "zoom_blur: table must be [zooms, 6]");
    let p = Params { kw: (table.numel() / 6) as u32, flag: with_identity as u32, ..params(shape) };
    launch(gpu, "zoom_blur", p, &[src, dst, table]);
}

/// Pass `pass` of glass blur's local shuffle of src [n, c, h, w] into dst: pixels at least
/// `delta` + 1 from the top and left and `delta` from the bottom and right edges read a
/// neighbour up to `delta` away (with probability 1/2 when `coin`).
#[allow(clippy::too_many_arguments)]
pub fn glass_shuffle(gpu: &Gpu, src: &Tensor, dst: &Tensor, shape: [usize; 4], delta: u32, coin: bool, seed: u32, pass: u32) {
    let p = Params { delta, flag: coin as u32, seed, stream: pass, ..params(shape) };
    launch(gpu, "glass_shuffle", p, &[src, dst]);
}
