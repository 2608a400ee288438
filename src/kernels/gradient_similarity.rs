//! Launchers for `shaders/gradient_similarity.wgsl`: the per-example cosine of two gradient
//! batches, similarity-unpairing's finite-difference points, and per-row scaling.

use super::shaders::GRADIENT_SIMILARITY;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    groups_x: u32,
    _p0: u32,
    h: f32,
    clean_weight: f32,
    pair_weight: f32,
    min_norm: f32,
}

/// The shader's bindings 1..=7, by name; a launch passes the ones its entry point uses.
#[derive(Default)]
struct Bindings<'a> {
    a: Option<&'a Tensor>,
    b: Option<&'a Tensor>,
    stats: Option<&'a Tensor>,
    x: Option<&'a Tensor>,
    points: Option<&'a Tensor>,
    weights: Option<&'a Tensor>,
    m: Option<&'a Tensor>,
}

impl<'a> Bindings<'a> {
    fn list(&self) -> Vec<&'a Tensor> {
        let all = [self.a, self.b, self.stats, self.x, self.points, self.weights, self.m];
        // Unused bindings are skipped by `Gpu::launch`; any tensor holds their place.
        let filler = all.iter().flatten().next().copied().expect("a launch binds at least one tensor");
        all.iter().map(|t| t.unwrap_or(filler)).collect()
    }
}

/// stats [n, 4] = (cos(a_i, b_i), |a_i|, |b_i|, 0) per row of a and b [n, d]; cos is 0 where
/// either norm is 0. One workgroup per row, the grid folded into y past 65,535 rows.
pub fn row_cosine(gpu: &Gpu, a: &Tensor, b: &Tensor, stats: &Tensor, n: usize, d: usize) {
    assert!(a.numel() >= n * d && b.numel() >= n * d && stats.numel() >= 4 * n, "row_cosine: tensors smaller than [{n}, {d}]");
    if n == 0 {
        return;
    }
    let gx = n.min(65_535);
    let p = Params { n: n as u32, d: d as u32, groups_x: gx as u32, ..Default::default() };
    let bind = Bindings { a: Some(a), b: Some(b), stats: Some(stats), ..Default::default() };
    gpu.launch(&Kernel { shader: &GRADIENT_SIMILARITY, entry: "row_cosine" }, &[], &p, &bind.list(), [gx as u32, n.div_ceil(gx) as u32, 1]);
}

/// The weights `unpair_points` gives its rows: `clean` for the first n, then
/// +-`pair` cos_i / |a_i| for the pairs, 0 where |a_i| <= `min_norm`.
#[derive(Clone, Copy, Debug)]
pub struct UnpairWeights {
    pub clean: f32,
    pub pair: f32,
    pub min_norm: f32,
}

/// points [3n, d] = [x ; x + h u ; x - h u], u_i = b_i/|b_i| - cos_i a_i/|a_i| from `stats`
/// (`row_cosine` of a and b), and weights [3n]: `w.clean`, then +-`w.pair` cos_i / |a_i|
/// (0 where |a_i| <= `w.min_norm` or is 0). Both outputs are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn unpair_points(gpu: &Gpu, x: &Tensor, a: &Tensor, b: &Tensor, stats: &Tensor, points: &Tensor, weights: &Tensor, h: f32, w: UnpairWeights, n: usize, d: usize) {
    assert!(points.numel() >= 3 * n * d && weights.numel() >= 3 * n, "unpair_points: outputs smaller than [3 * {n}, {d}]");
    let p = Params { n: n as u32, d: d as u32, h, clean_weight: w.clean, pair_weight: w.pair, min_norm: w.min_norm, ..Default::default() };
    let bind = Bindings { a: Some(a), b: Some(b), stats: Some(stats), x: Some(x), points: Some(points), weights: Some(weights), ..Default::default() };
    gpu.launch(&Kernel { shader: &GRADIENT_SIMILARITY, entry: "unpair_points" }, &[], &p, &bind.list(), grid_1d(n * d));
}

/// m[r, :] *= weights[r] over m viewed as [rows, numel / rows].
pub fn scale_rows(gpu: &Gpu, m: &Tensor, weights: &Tensor, rows: usize) {
    assert!(weights.numel() >= rows && rows > 0 && m.numel().is_multiple_of(rows), "scale_rows: {} values are not {rows} rows with a weight each", m.numel());
    let p = Params { n: rows as u32, d: (m.numel() / rows) as u32, ..Default::default() };
    let bind = Bindings { weights: Some(weights), m: Some(m), ..Default::default() };
    gpu.launch(&Kernel { shader: &GRADIENT_SIMILARITY, entry: "scale_rows" }, &[], &p, &bind.list(), grid_1d(m.numel()));
}
