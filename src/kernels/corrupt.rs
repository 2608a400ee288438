//! Launchers for `shaders/corrupt.wgsl`: bounded weight perturbations around clean weights
//! w0 (gradient ascent steps, projections, random draws) and the squared norms, kept in slots
//! of a small GPU array, that measure them.

use super::shaders::CORRUPT;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    slot: u32,
    slot_ref: u32,
    seed: u32,
    eps: f32,
    rel: f32,
    step: f32,
    mode: u32,
}

/// Most workgroups of a partial sum (the final sum is one workgroup over their results).
const MAX_PARTIALS: usize = 1024;

/// A perturbation radius: `abs + rel * reference`, where the reference is the square root of
/// slot `slot` of the norms (an L2 norm) or, with `count` > 0, of that slot over `count` (a
/// root mean square, for L-inf radii).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Radius {
    pub abs: f32,
    pub rel: f32,
    pub slot: usize,
    pub count: usize,
}

impl Radius {
    pub fn absolute(eps: f32) -> Radius {
        Radius { abs: eps, rel: 0.0, slot: 0, count: 0 }
    }

    /// rel times the L2 norm in `slot`.
    pub fn of_norm(rel: f32, slot: usize) -> Radius {
        Radius { abs: 0.0, rel, slot, count: 0 }
    }

    /// rel times the root mean square of the `count` elements whose squared norm is in `slot`.
    pub fn of_rms(rel: f32, slot: usize, count: usize) -> Radius {
        Radius { abs: 0.0, rel, slot, count }
    }

    fn params(self, n: usize) -> Params {
        Params { n: n as u32, slot_ref: self.slot as u32, eps: self.abs, rel: self.rel, mode: self.count as u32, ..Default::default() }
    }
}

fn kernel(entry: &'static str) -> Kernel {
    Kernel { shader: &CORRUPT, entry }
}

/// norms[slot] += sum of x^2, or of (x - minus)^2.
pub fn sum_squares(gpu: &Gpu, x: &Tensor, minus: Option<&Tensor>, norms: &Tensor, slot: usize) {
    let n = x.numel();
    let groups = n.div_ceil(256).clamp(1, MAX_PARTIALS);
    let partials = gpu.empty(&[groups]);
    let p = Params { n: n as u32, mode: minus.is_some() as u32, ..Default::default() };
    let m = minus.unwrap_or(x);
    gpu.launch(&kernel("sum_squares_partial"), &[], &p, &[x, m, x, &partials], [groups as u32, 1, 1]);
    let p = Params { n: groups as u32, slot: slot as u32, ..Default::default() };
    gpu.launch(&kernel("sum_squares_final"), &[], &p, &[x, x, x, &partials, norms], [1, 1, 1]);
}

/// w += step * r * g / |g| for the radius r, with |g|^2 in `norms[slot]`: the steepest L2
/// ascent step, `step` of the radius long.
pub fn l2_ascent(gpu: &Gpu, w: &Tensor, g: &Tensor, norms: &Tensor, slot: usize, radius: Radius, step: f32) {
    let p = Params { slot: slot as u32, step, ..radius.params(w.numel()) };
    gpu.launch(&kernel("l2_ascent"), &[], &p, &[g, g, w, w, norms], grid_1d(w.numel()));
}

/// w = w0 + (w - w0) * s, where |w - w0|^2 is in `norms[slot]`: s brings the perturbation
/// into the ball of `radius` (L2 reference) or, with `onto_sphere`, exactly onto its surface.
pub fn l2_project(gpu: &Gpu, w: &Tensor, w0: &Tensor, norms: &Tensor, slot: usize, radius: Radius, onto_sphere: bool) {
    assert_eq!(radius.count, 0, "an L2 radius is relative to a norm, not a root mean square");
    let p = Params { slot: slot as u32, mode: onto_sphere as u32, ..radius.params(w.numel()) };
    gpu.launch(&kernel("l2_project"), &[], &p, &[w0, w0, w, w, norms], grid_1d(w.numel()));
}

/// w = clip(w + step * r * sign(g), w0 - r, w0 + r) for the radius r.
pub fn linf_ascent(gpu: &Gpu, w: &Tensor, w0: &Tensor, g: &Tensor, norms: &Tensor, radius: Radius, step: f32) {
    let p = Params { step, ..radius.params(w.numel()) };
    gpu.launch(&kernel("linf_ascent"), &[], &p, &[g, w0, w, w, norms], grid_1d(w.numel()));
}

/// w = w0 +- r, each sign drawn at random (seeded).
pub fn random_corner(gpu: &Gpu, w: &Tensor, w0: &Tensor, norms: &Tensor, radius: Radius, seed: u32) {
    let p = Params { seed, ..radius.params(w.numel()) };
    gpu.launch(&kernel("random_corner"), &[], &p, &[w0, w0, w, w, norms], grid_1d(w.numel()));
}

/// w = w0 + a standard normal draw per element (seeded).
pub fn random_normal(gpu: &Gpu, w: &Tensor, w0: &Tensor, seed: u32) {
    let p = Params { n: w.numel() as u32, seed, ..Default::default() };
    gpu.launch(&kernel("random_normal"), &[], &p, &[w0, w0, w], grid_1d(w.numel()));
}
