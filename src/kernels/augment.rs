use super::shaders::AUGMENT;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};
use serde::{Deserialize, Serialize};

/// A random crop with zero padding and a left-right flip, as torchvision's
/// `RandomCrop(size, padding)` and `RandomHorizontalFlip()`: the settings of training's
/// augmentation (`[train.augment]`, `crate::methods::augment`) and of test-time augmentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    /// Zero padding of the random crop: the largest shift, in pixels (0: no crop).
    pub crop: usize,
    /// Mirror left to right with probability 1/2.
    pub flip: bool,
}

impl Augment {
    /// The usual augmentation for images of `shape`: shifts of up to 4 pixels and flips for
    /// colour images (CIFAR's recipe), shifts of up to 2 pixels and no flip for grey ones
    /// (a mirrored digit is another symbol); the shift stays below the image's side.
    pub fn usual_for(shape: [usize; 3]) -> Augment {
        let colour = shape[0] == 3;
        let crop = if colour { 4 } else { 2 };
        Augment { crop: crop.min(shape[1].min(shape[2]).saturating_sub(1)), flip: colour }
    }
}


#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    pad: u32,
    flip: u32,
    seed: u32,
    _pad: u32,
}

/// dst = src [n, c, h, w] with each example shifted by its own (dy, dx) in [-crop, crop]
/// (zeros shifted in: a random crop with zero padding) and, with `flip`, mirrored left to
/// right with probability 1/2; the draws come from `seed` and the example's index.
pub fn augment(gpu: &Gpu, src: &Tensor, dst: &Tensor, [n, c, h, w]: [usize; 4], Augment { crop: pad, flip }: Augment, seed: u32) {
    assert_eq!(src.numel(), n * c * h * w, "augment: src is not [{n}, {c}, {h}, {w}]");
    let p = Params { total: (n * c * h * w) as u32, c: c as u32, h: h as u32, w: w as u32, pad: pad as u32, flip: flip as u32, seed, _pad: 0 };
    let k = Kernel { shader: &AUGMENT, entry: "augment" };
    gpu.launch(&k, &[], &p, &[src, dst], grid_1d(n * c * h * w));
}
