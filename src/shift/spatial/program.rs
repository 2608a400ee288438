//! A corruption as a short program of kernel steps, run either on the GPU (the launchers of
//! `kernels`) or on the CPU (their references), so that both paths compose the same steps with
//! the same parameters. Slot 0 holds the input; each step appends one slot; the last is the
//! result.

use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, Border, Draw};
use crate::reference::{shift_blur, shift_warp, shift_weather};

pub type Shape = [usize; 4];

/// One kernel launch. `usize` fields name earlier slots.
#[derive(Clone, Debug)]
pub enum Step {
    Convolve { src: usize, shape: Shape, taps: Vec<f32>, size: [usize; 2], border: Border, clamp01: bool },
    Motion { src: usize, shape: Shape, taps: Vec<f32>, dirs: Vec<f32> },
    Zoom { src: usize, shape: Shape, table: Vec<f32>, with_identity: bool },
    Glass { src: usize, shape: Shape, delta: u32, coin: bool, seed: u32, pass: u32 },
    Affine { src: usize, shape: Shape, maps: Vec<f32>, border: Border },
    Displace { src: usize, field: usize, shape: Shape, border: Border },
    Field { shape: Shape, draw: Draw, seed: u32, stream: u32 },
    Plasma { shape: Shape, map: u32, ratio: f32, seed: u32, stream: u32 },
    Range { src: usize, n: usize, per: usize },
    Fog { x: usize, plasma: usize, x_range: usize, plasma_range: usize, shape: Shape, strength: f32 },
    Threshold { src: usize, len: usize, at: f32, keep: bool },
    Spatter { x: usize, mask: usize, shape: Shape, colour: [f32; 3] },
    Snow { x: usize, layer: usize, shape: Shape, keep: f32 },
    Frost { x: usize, shape: Shape, image_weight: f32, frost_weight: f32, seed: u32, stream: u32 },
}

impl Step {
    /// Values the step writes.
    fn len(&self) -> usize {
        let numel = |s: &Shape| s.iter().product::<usize>();
        match self {
            Step::Convolve { shape, .. } | Step::Motion { shape, .. } | Step::Zoom { shape, .. } | Step::Glass { shape, .. } => numel(shape),
            Step::Affine { shape, .. } | Step::Displace { shape, .. } | Step::Field { shape, .. } => numel(shape),
            Step::Fog { shape, .. } | Step::Spatter { shape, .. } | Step::Snow { shape, .. } | Step::Frost { shape, .. } => numel(shape),
            Step::Plasma { shape: [n, _, h, w], .. } => n * h * w,
            Step::Range { n, .. } => 2 * n,
            Step::Threshold { len, .. } => *len,
        }
    }
}

/// The steps on the GPU; returns the last slot (x itself when there are none).
pub fn run_gpu(gpu: &Gpu, x: &Tensor, steps: &[Step]) -> Tensor {
    let mut outs: Vec<Tensor> = Vec::with_capacity(steps.len());
    for step in steps {
        let dst = gpu.empty(&[step.len()]);
        let slot = |i: usize| if i == 0 { x } else { &outs[i - 1] };
        let up = |v: &[f32]| gpu.upload(v, &[v.len()]);
        match step {
            Step::Convolve { src, shape, taps, size, border, clamp01 } => kernels::convolve(gpu, slot(*src), &up(taps), &dst, *shape, *size, *border, *clamp01),
            Step::Motion { src, shape, taps, dirs } => kernels::motion_blur(gpu, slot(*src), &up(taps), &up(dirs), &dst, *shape),
            Step::Zoom { src, shape, table, with_identity } => kernels::zoom_blur(gpu, slot(*src), &up(table), &dst, *shape, *with_identity),
            Step::Glass { src, shape, delta, coin, seed, pass } => kernels::glass_shuffle(gpu, slot(*src), &dst, *shape, *delta, *coin, *seed, *pass),
            Step::Affine { src, shape, maps, border } => kernels::affine_warp(gpu, slot(*src), &up(maps), &dst, *shape, *border),
            Step::Displace { src, field, shape, border } => kernels::displace(gpu, slot(*src), slot(*field), &dst, *shape, *border),
            Step::Field { shape, draw, seed, stream } => kernels::random_field(gpu, &dst, *shape, *draw, *seed, *stream),
            Step::Plasma { shape, map, ratio, seed, stream } => kernels::plasma(gpu, &dst, *shape, *map, *ratio, *seed, *stream),
            Step::Range { src, n, per } => kernels::example_range(gpu, slot(*src), &dst, *n, *per),
            Step::Fog { x, plasma, x_range, plasma_range, shape, strength } => {
                kernels::fog_mix(gpu, slot(*x), slot(*plasma), slot(*x_range), slot(*plasma_range), &dst, *shape, *strength)
            }
            Step::Threshold { src, len, at, keep } => kernels::threshold_field(gpu, slot(*src), &dst, *len, *at, *keep),
            Step::Spatter { x, mask, shape, colour } => kernels::spatter_mix(gpu, slot(*x), slot(*mask), &dst, *shape, *colour),
            Step::Snow { x, layer, shape, keep } => kernels::snow_mix(gpu, slot(*x), slot(*layer), &dst, *shape, *keep),
            Step::Frost { x, shape, image_weight, frost_weight, seed, stream } => {
                kernels::frost(gpu, slot(*x), &dst, *shape, *image_weight, *frost_weight, *seed, *stream)
            }
        }
        outs.push(dst);
    }
    outs.pop().unwrap_or_else(|| gpu.duplicate(x))
}

/// The same steps through the CPU references.
pub fn run_cpu(x: &[f32], steps: &[Step]) -> Vec<f32> {
    let mut slots: Vec<Vec<f32>> = vec![x.to_vec()];
    for step in steps {
        let s = |i: usize| slots[i].as_slice();
        let out = match step {
            Step::Convolve { src, shape, taps, size, border, clamp01 } => shift_blur::convolve(s(*src), taps, *shape, *size, *border, *clamp01),
            Step::Motion { src, shape, taps, dirs } => shift_blur::motion_blur(s(*src), taps, dirs, *shape),
            Step::Zoom { src, shape, table, with_identity } => shift_blur::zoom_blur(s(*src), table, *shape, *with_identity),
            Step::Glass { src, shape, delta, coin, seed, pass } => shift_blur::glass_shuffle(s(*src), *shape, *delta, *coin, *seed, *pass),
            Step::Affine { src, shape, maps, border } => shift_warp::affine_warp(s(*src), maps, *shape, *border),
            Step::Displace { src, field, shape, border } => shift_warp::displace(s(*src), s(*field), *shape, *border),
            Step::Field { shape, draw, seed, stream } => shift_weather::random_field(step.len(), shape[1] * shape[2] * shape[3], *draw, *seed, *stream),
            Step::Plasma { shape, map, ratio, seed, stream } => shift_weather::plasma(*shape, *map, *ratio, *seed, *stream),
            Step::Range { src, per, .. } => shift_weather::example_range(s(*src), *per),
            Step::Fog { x, plasma, x_range, plasma_range, shape, strength } => shift_weather::fog_mix(s(*x), s(*plasma), s(*x_range), s(*plasma_range), *shape, *strength),
            Step::Threshold { src, at, keep, .. } => shift_weather::threshold_field(s(*src), *at, *keep),
            Step::Spatter { x, mask, shape, colour } => shift_weather::spatter_mix(s(*x), s(*mask), *shape, *colour),
            Step::Snow { x, layer, shape, keep } => shift_weather::snow_mix(s(*x), s(*layer), *shape, *keep),
            Step::Frost { x, shape, image_weight, frost_weight, seed, stream } => shift_weather::frost(s(*x), *shape, *image_weight, *frost_weight, *seed, *stream),
        };
        slots.push(out);
    }
    slots.pop().unwrap_or_default()
}
