use super::shaders::AUGMIX;
use crate::gpu::{Gpu, Kernel, Tensor};

/// What AugMix's chains do: `width` chains of `depth` operations each (0: 1 to 3, drawn per
/// example and chain), levels drawn in [0.1, `severity`] on AugMix's 0-10 scale, and with
/// `geometric` the rotations, shears and translations besides the tone operations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AugmixChains {
    pub width: usize,
    pub depth: usize,
    pub severity: f32,
    pub geometric: bool,
}

/// The longest chain: steps past an example's own depth copy their input.
pub const AUGMIX_MAX_DEPTH: usize = 3;

/// cos and sin of 0 to 30 whole degrees (AugMix's rotations), [cos..., sin...], from f64.
pub fn augmix_trig() -> Vec<f32> {
    let rad = |d: usize| (d as f64).to_radians();
    (0..=30).map(|d| rad(d).cos() as f32).chain((0..=30).map(|d| rad(d).sin() as f32)).collect()
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    chain: u32,
    step: u32,
    depth: u32,
    geometric: u32,
    seed: u32,
    severity: f32,
    width: u32,
    last_step: u32,
}

/// dst = AugMix of x [n, c, h, w] (values in [0, 1]): each example's chains of random
/// operations drawn from `seed` and its index, mixed by `weights` [n, width + 1] (the
/// chains' Dirichlet weights, then the Beta weight m of the original:
/// dst = m x + (1 - m) sum_k w_k chain_k).
pub fn augmix(gpu: &Gpu, x: &Tensor, dst: &Tensor, weights: &Tensor, [n, c, h, w]: [usize; 4], chains: &AugmixChains, seed: u32) {
    assert_eq!(x.numel(), n * c * h * w, "augmix: x is not [{n}, {c}, {h}, {w}]");
    assert_eq!(weights.numel(), n * (chains.width + 1), "augmix: weights are not [{n}, {}]", chains.width + 1);
    let p = |chain: usize, step: usize| Params {
        total: (n * c) as u32,
        c: c as u32,
        h: h as u32,
        w: w as u32,
        chain: chain as u32,
        step: step as u32,
        depth: chains.depth as u32,
        geometric: chains.geometric as u32,
        seed,
        severity: chains.severity,
        width: chains.width as u32,
        last_step: (AUGMIX_MAX_DEPTH - 1) as u32,
    };
    let op = Kernel { shader: &AUGMIX, entry: "augmix_op" };
    // One workgroup per plane.
    let planes = n * c;
    let gx = planes.clamp(1, 65_535);
    let plane_grid = [gx as u32, planes.div_ceil(gx) as u32, 1];
    let (a, b) = (gpu.empty(x.shape()), gpu.empty(x.shape()));
    let trig = gpu.upload(&augmix_trig(), &[62]);
    for k in 0..chains.width {
        // x -> a -> b -> ... and the last step into the mixture.
        let mut cur = x;
        for d in 0..AUGMIX_MAX_DEPTH {
            let next = if d + 1 == AUGMIX_MAX_DEPTH { dst } else if d % 2 == 0 { &a } else { &b };
            gpu.launch(&op, &[], &p(k, d), &[cur, next, x, weights, &trig], plane_grid);
            cur = next;
        }
    }
}
