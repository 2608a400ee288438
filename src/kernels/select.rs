use super::shaders::SELECT;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    shift: u32,
    _pad: [u32; 2],
}

fn launch(gpu: &Gpu, entry: &'static str, p: Params, tensors: &[&Tensor], groups: [u32; 3]) {
    gpu.launch(&Kernel { shader: &SELECT, entry }, &[], &p, tensors, groups);
}

/// keys[i] = a u32 that orders like |values[i]| and is never 0.
pub fn magnitude_keys(gpu: &Gpu, values: &Tensor, keys: &Tensor) {
    let n = values.numel();
    // Bindings: keys, hist, state, mask, counts, values, out_keys (only 6 and 7 are used).
    launch(gpu, "magnitude_keys", Params { n: n as u32, ..Default::default() }, &[values, values, values, values, values, values, keys], grid_1d(n));
}

/// Which elements a restricted selection may choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidates {
    /// Where the mask is non-zero.
    Active,
    /// Where the mask is zero.
    Inactive,
}

/// keys[i] = 0 (never chosen) where element i is not a candidate under `mask`, in place.
pub fn restrict_keys(gpu: &Gpu, keys: &Tensor, mask: &Tensor, which: Candidates) {
    let n = keys.numel();
    assert_eq!(mask.numel(), n, "restrict_keys: mask and keys differ in size");
    let code = if which == Candidates::Active { 1.0 } else { 2.0 };
    let k = Kernel { shader: &SELECT, entry: "restrict_keys" };
    // Bindings: keys, hist, state, mask, counts, values, out_keys (4 and 7 are used).
    gpu.launch(&k, &[("WHERE", code)], &Params { n: n as u32, ..Default::default() }, &[keys, keys, keys, mask, keys, keys, keys], grid_1d(n));
}

/// mask[i] = 1 for the `k` largest of `keys` (ties to the lower index), else 0: exactly k
/// ones. Keys equal to 0 are never chosen; k must not exceed the number of non-zero keys.
pub fn select_top_k(gpu: &Gpu, keys: &Tensor, k: usize, mask: &Tensor) {
    let n = keys.numel();
    assert!(k <= n, "select_top_k: k = {k} of {n} keys");
    assert_eq!(mask.numel(), n, "select_top_k: mask and keys differ in size");
    if k == 0 {
        gpu.fill_zero(mask);
        return;
    }
    let grid = grid_1d(n);
    let groups = (grid[0] * grid[1]) as usize;
    let hist = gpu.zeros_u32(&[256]);
    let state = gpu.upload_u32(&[0, k as u32, 0, 0], &[4]);
    let counts = gpu.empty_u32(&[groups]);
    let t = [keys, &hist, &state, mask, &counts];
    for shift in [24, 16, 8, 0] {
        let p = Params { n: n as u32, shift, ..Default::default() };
        launch(gpu, "radix_histogram", p, &t, grid);
        launch(gpu, "radix_pick", p, &t, [1, 1, 1]);
    }
    launch(gpu, "mark_above", Params { n: n as u32, ..Default::default() }, &t, grid);
    launch(gpu, "scan_counts", Params { n: groups as u32, ..Default::default() }, &t, [1, 1, 1]);
    launch(gpu, "mark_ties", Params { n: n as u32, ..Default::default() }, &t, grid);
}
