use super::shaders::SHIFT_TONE;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// The tone changes of `shaders/shift_tone.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// HSV value raised by a (hue and saturation kept).
    Brightness,
    /// Each channel pulled towards its mean: (x - m) a + m.
    Contrast,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    hw: u32,
    _p: u32,
    a: f32,
    _q: [f32; 3],
}

/// dst = `tone` of strength `a` applied to src [n, c, h, w] (values in [0, 1]), clipped to
/// [0, 1].
pub fn shift_tone(gpu: &Gpu, tone: Tone, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], a: f32) {
    assert_eq!(src.numel(), n * c * h * w, "shift_tone: src is not [{n}, {c}, {h}, {w}]");
    let p = Params { total: (n * c * h * w) as u32, c: c as u32, hw: (h * w) as u32, _p: 0, a, _q: [0.0; 3] };
    let entry = match tone {
        Tone::Brightness => "brightness",
        Tone::Contrast => "contrast",
    };
    gpu.launch(&Kernel { shader: &SHIFT_TONE, entry }, &[], &p, &[src, dst], grid_1d(n * c * h * w));
}
