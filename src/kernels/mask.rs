use super::shaders::MASK;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _pad: [u32; 3],
}

fn launch(gpu: &Gpu, entry: &'static str, mask: &Tensor, x: &Tensor) {
    assert_eq!(mask.numel(), x.numel(), "{entry}: mask and tensor differ in size");
    let k = Kernel { shader: &MASK, entry };
    gpu.launch(&k, &[], &Params { n: x.numel() as u32, _pad: [0; 3] }, &[mask, x], grid_1d(x.numel()));
}

/// x[i] = 0 where mask[i] == 0, in place.
pub fn apply_mask(gpu: &Gpu, mask: &Tensor, x: &Tensor) {
    launch(gpu, "apply_mask", mask, x);
}

/// x = max(x, mask), in place: the union of two 0/1 masks.
pub fn mask_union(gpu: &Gpu, mask: &Tensor, x: &Tensor) {
    launch(gpu, "mask_union", mask, x);
}
