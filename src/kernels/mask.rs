use super::shaders::MASK;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _pad: [u32; 3],
}

/// x[i] = 0 where mask[i] == 0, in place.
pub fn apply_mask(gpu: &Gpu, mask: &Tensor, x: &Tensor) {
    assert_eq!(mask.numel(), x.numel(), "apply_mask: mask and tensor differ in size");
    let k = Kernel { shader: &MASK, entry: "apply_mask" };
    gpu.launch(&k, &[], &Params { n: x.numel() as u32, _pad: [0; 3] }, &[mask, x], grid_1d(x.numel()));
}
