//! Shared harness: one device for the whole binary, seeded inputs, readback, and the one
//! comparison helper every kernel test reports through.

use aer::gpu::{AdapterChoice, Gpu, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Debug;
use std::io::Write;
use std::sync::OnceLock;

/// Largest storage binding WebGPU guarantees by default: 128 MiB of f32.
pub const MAX_BINDING_F32: usize = 128 << 20 >> 2;
/// Most workgroups per dispatch dimension WebGPU guarantees by default.
pub const MAX_GROUPS: usize = 65_535;
/// Smallest 1-D size whose grid spills into y (see `aer::gpu::grid_1d`).
pub const SPILL_1D: usize = MAX_GROUPS * aer::gpu::WG_1D as usize + 1;

/// The four layouts of a weight product's activations (linear, convolution, and the two mixed).
pub const LAYOUTS: [aer::kernels::ActivationLayout; 4] = [
    aer::kernels::ActivationLayout::LINEAR,
    aer::kernels::ActivationLayout::CONV,
    aer::kernels::ActivationLayout { trans_x: true, trans_y: false },
    aer::kernels::ActivationLayout { trans_x: false, trans_y: true },
];

static GPU: OnceLock<Gpu> = OnceLock::new();

/// The device every test shares: tests run on several threads, and opening a device per test
/// would cost seconds each on a CPU adapter.
pub fn gpu() -> &'static Gpu {
    GPU.get_or_init(|| {
        let gpu = pollster::block_on(Gpu::new(&AdapterChoice::from_env()))
            .unwrap_or_else(|e| panic!("kernel tests need a GPU adapter (see WGPU_ADAPTER_NAME, WGPU_BACKEND): {e}"));
        // Straight to the stderr handle: the harness captures print macros per test, and this
        // line should appear once for the binary whichever test opens the device.
        let _ = writeln!(std::io::stderr(), "kernel tests on {}", gpu.adapter_label());
        gpu
    })
}

/// The generator for case `case` of test `test`: the failure message names both, so a
/// failing case reruns alone by its parameters.
pub fn rng(test: &str, case: usize) -> StdRng {
    // FNV-1a: stable across Rust versions, unlike DefaultHasher.
    let h = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    StdRng::seed_from_u64(h ^ (case as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// 1-D sizes: around the 256-wide workgroup, random, past the 65,535-group spill into y, and
/// one maximal 128 MiB binding.
pub fn sizes_1d(test: &str) -> Vec<usize> {
    let mut sizes = vec![1, 2, 255, 256, 257, 65_537];
    let mut r = rng(test, 0);
    sizes.extend((0..24).map(|_| r.random_range(1..100_000)));
    sizes.extend([SPILL_1D, MAX_BINDING_F32]);
    sizes
}

/// Uniform in [lo, hi).
pub fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| lo + (hi - lo) * rng.random::<f32>()).collect()
}

/// Multiples of 1/64 in [-1, 1]: every sum of fewer than 2^18 of them is exact in f32, so
/// reductions must match the f64 reference exactly in any order, and ties are common.
pub fn dyadic(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-64i32..=64) as f32 / 64.0).collect()
}

pub fn max_abs(v: &[f32]) -> f64 {
    v.iter().fold(0f64, |m, x| m.max(x.abs() as f64))
}

pub fn upload(data: &[f32]) -> Tensor {
    gpu().upload(data, &[data.len()])
}

pub fn upload_u32(data: &[u32]) -> Tensor {
    gpu().upload_u32(data, &[data.len()])
}

// Empty tensors are not read: `Gpu::read_f32`/`read_u32` cast an empty, hence unaligned,
// Vec<u8> and bytemuck panics.
pub fn read(t: &Tensor) -> Vec<f32> {
    if t.numel() == 0 {
        return Vec::new();
    }
    pollster::block_on(gpu().read_f32(t)).expect("read back an f32 tensor")
}

pub fn read_u32(t: &Tensor) -> Vec<u32> {
    if t.numel() == 0 {
        return Vec::new();
    }
    pollster::block_on(gpu().read_u32(t)).expect("read back a u32 tensor")
}

/// Accept |gpu - ref| <= abs + rel * |ref|.
#[derive(Clone, Copy, Debug)]
pub struct Tol {
    pub abs: f64,
    pub rel: f64,
}

impl Tol {
    pub const EXACT: Tol = Tol { abs: 0.0, rel: 0.0 };
}

#[track_caller]
fn assert_len(what: &str, case: &dyn Debug, got: usize, want: usize) {
    assert_eq!(got, want, "{what}: gpu gave {got} elements, reference {want}; case {case:?}");
}

/// Compare a GPU result with its reference element by element. On failure, names the
/// quantity, the first and the worst mismatching index with both values, and the case.
#[track_caller]
pub fn assert_close(what: &str, case: &dyn Debug, got: &[f32], want: &[f32], tol: Tol) {
    assert_len(what, case, got.len(), want.len());
    let mut first = None;
    let mut worst: Option<(usize, f64)> = None;
    let mut bad = 0usize;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let diff = (g as f64 - w as f64).abs();
        // NaN fails unless both are NaN; equal infinities pass.
        let ok = g == w || (g.is_nan() && w.is_nan()) || diff <= tol.abs + tol.rel * (w as f64).abs();
        if !ok {
            bad += 1;
            first.get_or_insert(i);
            let excess = if diff.is_nan() { f64::INFINITY } else { diff - tol.abs - tol.rel * (w as f64).abs() };
            if worst.is_none_or(|(_, e)| excess > e) {
                worst = Some((i, excess));
            }
        }
    }
    if let (Some(i), Some((j, _))) = (first, worst) {
        panic!(
            "{what}: {bad} of {} elements outside |gpu - ref| <= {:e} + {:e} * |ref|\n  \
             first at [{i}]: gpu {:e}, ref {:e}\n  worst at [{j}]: gpu {:e}, ref {:e}\n  case {case:?}",
            got.len(),
            tol.abs,
            tol.rel,
            got[i],
            want[i],
            got[j],
            want[j],
        );
    }
}

/// Exact comparison for integer outputs (indices, flags), reported like `assert_close`.
#[track_caller]
pub fn assert_same(what: &str, case: &dyn Debug, got: &[u32], want: &[u32]) {
    assert_len(what, case, got.len(), want.len());
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        let bad = got.iter().zip(want).filter(|(g, w)| g != w).count();
        panic!(
            "{what}: {bad} of {} elements differ; first at [{i}]: gpu {}, ref {}\n  case {case:?}",
            got.len(),
            got[i],
            want[i]
        );
    }
}

/// The premise of sharing one device between test threads: each thread's uploads, launches
/// and readbacks stay in order however the threads interleave their submissions.
#[test]
fn shared_device_keeps_each_threads_order() {
    std::thread::scope(|s| {
        for t in 0..4usize {
            s.spawn(move || {
                for i in 0..200usize {
                    let n = 1000 + 7 * t + i % 13;
                    let x: Vec<f32> = (0..n).map(|j| (j + i) as f32 + 1.0).collect();
                    let y = gpu().empty(&[n]);
                    aer::kernels::relu_forward(gpu(), &upload(&x), &y);
                    assert_close(
                        "relu through a shared device",
                        &format!("thread {t}, round {i}"),
                        &read(&y),
                        &x,
                        Tol::EXACT,
                    );
                }
            });
        }
    });
}

/// `assert_close` for kernels whose discrete steps (rounding to an integer count, a
/// comparison with a threshold) may fall the other way on the GPU for values within a few
/// ULP of the step: every element within `bound` of the reference, and at most `share` of
/// them outside `tol`.
#[track_caller]
pub fn assert_mostly_close(what: &str, case: &dyn Debug, got: &[f32], want: &[f32], tol: Tol, bound: f64, share: f64) {
    assert_len(what, case, got.len(), want.len());
    let diffs: Vec<(usize, f64)> = got.iter().zip(want).map(|(&g, &w)| (g as f64 - w as f64).abs()).enumerate().collect();
    if let Some(&(i, d)) = diffs.iter().find(|(_, d)| d.is_nan() || *d > bound) {
        panic!("{what}: [{i}] gpu {:e}, ref {:e}: off by {d:e}, more than {bound:e}\n  case {case:?}", got[i], want[i]);
    }
    let outside = diffs.iter().filter(|&&(i, d)| d > tol.abs + tol.rel * (want[i] as f64).abs()).count();
    assert!(outside as f64 <= share * got.len() as f64, "{what}: {outside} of {} elements outside {tol:?} (at most {share} allowed)\n  case {case:?}", got.len());
}

/// Image shapes [n, c, h, w] for the corruption kernels: one pixel, MNIST and CIFAR batches,
/// shapes off the workgroup size and seeded random ones up to 40 x 40.
pub fn image_shapes(test: &str) -> Vec<[usize; 4]> {
    let mut v = vec![[1, 1, 1, 1], [1, 1, 28, 28], [50, 1, 28, 28], [7, 3, 32, 32], [3, 3, 5, 7], [2, 2, 9, 13]];
    let mut r = rng(test, 1000);
    v.extend((0..8).map(|_| [r.random_range(1..12), r.random_range(1..4), r.random_range(1..41), r.random_range(1..41)]));
    v
}

/// Images in [0, 1] like real ones: a share of exact zeros and ones (background, saturated
/// ink) between smooth values.
pub fn images(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.random_range(0..10) {
            0..=2 => 0.0,
            3 => 1.0,
            _ => (rng.random_range(0..=255) as f32) / 255.0,
        })
        .collect()
}

/// Image batches [n, c, h, w] for the spatial corruptions (one or three channels, as their
/// grey and colour parameter tables): single pixels, MNIST and CIFAR shapes, sizes off the
/// 256-wide workgroup and odd sides, and a few random ones.
pub fn spatial_shapes(test: &str) -> Vec<[usize; 4]> {
    let mut v = vec![[1, 1, 1, 1], [1, 3, 1, 1], [2, 1, 28, 28], [2, 3, 32, 32], [3, 1, 5, 7], [1, 3, 9, 13], [2, 1, 17, 3]];
    let mut r = rng(test, 0);
    v.extend((0..3).map(|_| [r.random_range(1..4), [1, 3][r.random_range(0..2)], r.random_range(1..40), r.random_range(1..40)]));
    v
}

/// One spatial corruption (`aer::shift::spatial`) on the GPU against its CPU reference at every
/// severity on `image_shapes`: all but `stray` (a fraction) of the values within `abs` of the
/// reference, every value in [0, 1], severity 0 the identity, the same seed the same bits and,
/// for a `random` corruption, another seed other values (on images of 16x16 and more: on
/// smaller ones glass blur may shuffle no pixel and snow draw no flake).
pub fn check_spatial(name: &str, abs: f64, stray: f64, random: bool) {
    use aer::shift::spatial;
    for (i, shape) in spatial_shapes(name).into_iter().enumerate() {
        let x = uniform(&mut rng(name, i + 1), shape.iter().product(), 0.0, 1.0);
        let xt = gpu().upload(&x, &shape);
        let run = |severity: u32, seed: u32| read(&pollster::block_on(spatial::apply(gpu(), name, severity, seed, &xt)).unwrap().unwrap());
        assert_eq!(run(0, 1), x, "{name}: severity 0 is the identity; {shape:?}");
        for severity in 1..=5 {
            let seed = 7 + i as u32;
            let case = (name, shape, severity, seed);
            let got = run(severity, seed);
            let want = spatial::reference(name, severity, seed, &x, shape).unwrap();
            assert_eq!(got.len(), want.len(), "{case:?}");
            let bad = got.iter().zip(&want).filter(|(g, w)| (**g as f64 - **w as f64).abs() > abs).count();
            let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
            assert!(bad as f64 <= stray * got.len() as f64, "{name}: {bad} of {} values differ from the reference by more than {abs:e} (worst {worst:e}); case {case:?}", got.len());
            assert!(got.iter().all(|v| (0.0..=1.0).contains(v)), "{name}: values outside [0, 1]; case {case:?}");
            assert_eq!(got, run(severity, seed), "{name}: the same seed gives the same bits; case {case:?}");
            if random && shape[2] >= 16 && shape[3] >= 16 {
                assert_ne!(got, run(severity, seed + 1), "{name}: another seed draws otherwise; case {case:?}");
            }
        }
    }
}
