use super::shaders::SHIFT_WEATHER;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    total: u32,
    c: u32,
    h: u32,
    w: u32,
    per: u32,
    flag: u32,
    seed: u32,
    stream: u32,
    map: u32,
    _pad: [u32; 3],
    a: f32,
    b: f32,
    c2: f32,
    d: f32,
}

fn params([n, c, h, w]: [usize; 4]) -> Params {
    let total = (n * c * h * w) as u32;
    Params { total, c: c as u32, h: h as u32, w: w as u32, per: (c * h * w) as u32, flag: 0, seed: 0, stream: 0, map: 0, _pad: [0; 3], a: 0.0, b: 0.0, c2: 0.0, d: 0.0 }
}

/// `tensors[i]` goes to binding i + 1; entries that only write pass dst twice (binding 1 unused).
fn launch(gpu: &Gpu, entry: &'static str, p: Params, tensors: &[&Tensor]) {
    gpu.launch(&Kernel { shader: &SHIFT_WEATHER, entry }, &[], &p, tensors, grid_1d(p.total as usize));
}

/// A random field's draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Draw {
    /// Uniform in [lo, hi).
    Uniform { lo: f32, hi: f32 },
    /// Normal with this mean and standard deviation (an Irwin-Hall sum of four uniforms).
    Normal { mean: f32, std: f32 },
}

/// dst [n, planes, h, w] of independent draws from (seed, example, pixel, stream).
pub fn random_field(gpu: &Gpu, dst: &Tensor, shape: [usize; 4], draw: Draw, seed: u32, stream: u32) {
    let (flag, a, b) = match draw {
        Draw::Uniform { lo, hi } => (0, lo, hi),
        Draw::Normal { mean, std } => (1, mean, std),
    };
    launch(gpu, "random_field", Params { flag, a, b, seed, stream, ..params(shape) }, &[dst, dst]);
}

/// dst [n, 1, h, w]: fog's plasma, octaves of value noise with spacings map / 2 .. 1 (map a
/// power of two), each `ratio` times the one before.
pub fn plasma(gpu: &Gpu, dst: &Tensor, [n, _, h, w]: [usize; 4], map: u32, ratio: f32, seed: u32, stream: u32) {
    assert!(map.is_power_of_two(), "plasma: map {map} must be a power of two");
    launch(gpu, "plasma", Params { map, a: ratio, seed, stream, ..params([n, 1, h, w]) }, &[dst, dst]);
}

/// dst [n, 2] = (min, max) of each of the n examples of src (`per` values each).
pub fn example_range(gpu: &Gpu, src: &Tensor, dst: &Tensor, n: usize, per: usize) {
    assert_eq!(src.numel(), n * per, "example_range: src must hold n x per values");
    let p = Params { total: n as u32, per: per as u32, ..params([0; 4]) };
    let x = n.clamp(1, 65_535);
    gpu.launch(&Kernel { shader: &SHIFT_WEATHER, entry: "example_range" }, &[], &p, &[src, dst], [x as u32, n.div_ceil(x) as u32, 1]);
}

#[allow(clippy::too_many_arguments)]
/// Fog: dst = clamp((x + strength plasma01) max(x) / (max(x) + strength)), plasma01 the plasma
/// [n, 1, h, w] scaled to [0, 1] by its `plasma_range` [n, 2]; `x_range` [n, 2] from
/// `example_range`.
pub fn fog_mix(gpu: &Gpu, x: &Tensor, plasma: &Tensor, x_range: &Tensor, plasma_range: &Tensor, dst: &Tensor, shape: [usize; 4], strength: f32) {
    launch(gpu, "fog_mix", Params { a: strength, ..params(shape) }, &[x, dst, plasma, x_range, plasma_range]);
}

/// dst = 0 where src < `at`, else 1 (`keep` false: a mask) or src (`keep` true); src holds
/// `len` values.
pub fn threshold_field(gpu: &Gpu, src: &Tensor, dst: &Tensor, len: usize, at: f32, keep: bool) {
    launch(gpu, "threshold_field", Params { a: at, flag: keep as u32, ..params([1, 1, 1, len]) }, &[src, dst]);
}

/// Spatter: where the blurred mask [n, 1, h, w] reaches 0.8, dst = x (1 - m) + colour m per
/// channel (`colour[0]` for grey-scale).
pub fn spatter_mix(gpu: &Gpu, x: &Tensor, mask: &Tensor, dst: &Tensor, shape: [usize; 4], colour: [f32; 3]) {
    let [a, b, c2] = colour;
    launch(gpu, "spatter_mix", Params { a, b, c2, ..params(shape) }, &[x, dst, mask]);
}

/// Snow: x brightened towards its grey level by `1 - keep`, plus the snow layer [n, 1, h, w]
/// and the layer turned by 180 degrees.
pub fn snow_mix(gpu: &Gpu, x: &Tensor, layer: &Tensor, dst: &Tensor, shape: [usize; 4], keep: f32) {
    launch(gpu, "snow_mix", Params { a: keep, ..params(shape) }, &[x, dst, layer]);
}

#[allow(clippy::too_many_arguments)]
/// Frost: dst = clamp(image_weight x + frost_weight ice), the ice drawn procedurally per
/// (seed, example).
pub fn frost(gpu: &Gpu, x: &Tensor, dst: &Tensor, shape: [usize; 4], image_weight: f32, frost_weight: f32, seed: u32, stream: u32) {
    launch(gpu, "frost", Params { a: image_weight, b: frost_weight, seed, stream, ..params(shape) }, &[x, dst]);
}
