use super::shaders::MASK;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    k: u32,
    keep: u32,
    group: u32,
}

fn launch(gpu: &Gpu, entry: &'static str, mask: &Tensor, x: &Tensor) {
    assert_eq!(mask.numel(), x.numel(), "{entry}: mask and tensor differ in size");
    let k = Kernel { shader: &MASK, entry };
    gpu.launch(&k, &[], &Params { n: x.numel() as u32, k: 1, keep: 0, group: 1 }, &[mask, x], grid_1d(x.numel()));
}

/// x[i] = 0 where mask[i] == 0, in place.
pub fn apply_mask(gpu: &Gpu, mask: &Tensor, x: &Tensor) {
    launch(gpu, "apply_mask", mask, x);
}

/// x = max(x, mask), in place: the union of two 0/1 masks.
pub fn mask_union(gpu: &Gpu, mask: &Tensor, x: &Tensor) {
    launch(gpu, "mask_union", mask, x);
}

/// The N:M mask of weights w [rows, k]: in each group of `group` consecutive weights of a row,
/// the `keep` of largest magnitude (ties to the lower index).
pub fn nm_mask(gpu: &Gpu, w: &Tensor, k: usize, keep: usize, group: usize, mask: &Tensor) {
    assert!(group >= 1 && k >= 1 && w.numel().is_multiple_of(k) && mask.numel() == w.numel(), "nm_mask: {keep}:{group} over rows of {k}");
    let k_ = Kernel { shader: &MASK, entry: "nm_mask" };
    let p = Params { n: w.numel() as u32, k: k as u32, keep: keep as u32, group: group as u32 };
    gpu.launch(&k_, &[], &p, &[w, mask], grid_1d(w.numel()));
}
