//! bias.wgsl, relu.wgsl and maxpool.wgsl against `reference::{bias_*, relu_*, maxpool2_*}`.

use crate::common::*;
use aer::kernels;
use aer::reference;
use rand::rngs::StdRng;
use rand::Rng;

/// 1-D sizes: around the 256-wide workgroup, random, past the 65,535-group spill into y, and
/// one maximal 128 MiB binding.
pub(crate) fn sizes_1d(test: &str) -> Vec<usize> {
    let mut sizes = vec![1, 2, 255, 256, 257, 65_537];
    let mut r = rng(test, 0);
    sizes.extend((0..24).map(|_| r.random_range(1..100_000)));
    sizes.extend([SPILL_1D, MAX_BINDING_F32]);
    sizes
}

/// Uniform in [-1, 1) with about one value in eight exactly +0 or -0, the ReLU boundary.
fn with_zeros(rng: &mut StdRng, n: usize) -> Vec<f32> {
    let mut v = uniform(rng, n, -1.0, 1.0);
    for x in v.iter_mut() {
        if rng.random_range(0..8) == 0 {
            *x = if rng.random() { 0.0 } else { -0.0 };
        }
    }
    v
}

#[test]
fn relu_forward_matches_reference() {
    for (i, n) in sizes_1d("relu_forward").into_iter().enumerate() {
        let x = with_zeros(&mut rng("relu_forward", i), n);
        let y = gpu().empty(&[n]);
        kernels::relu_forward(gpu(), &upload(&x), &y);
        // max() is exact; +0 and -0 compare equal.
        assert_close("relu y", &format!("n = {n}"), &read(&y), &reference::relu_forward(&x), Tol::EXACT);
    }
}

#[test]
fn relu_backward_matches_reference() {
    for (i, n) in sizes_1d("relu_backward").into_iter().enumerate() {
        let mut r = rng("relu_backward", i);
        let y = reference::relu_forward(&with_zeros(&mut r, n));
        let dy = uniform(&mut r, n, -1.0, 1.0);
        let t = upload(&dy);
        kernels::relu_backward(gpu(), &upload(&y), &t);
        assert_close("relu dy", &format!("n = {n}"), &read(&t), &reference::relu_backward(&y, &dy), Tol::EXACT);
    }
}

#[derive(Debug, Clone, Copy)]
struct BiasCase {
    outer: usize,
    channels: usize,
    inner: usize,
}

impl BiasCase {
    fn numel(&self) -> usize {
        self.outer * self.channels * self.inner
    }
}

fn random_bias_cases(test: &str, count: usize) -> Vec<BiasCase> {
    (0..count)
        .map(|i| {
            let mut r = rng(test, i);
            // Linear layers have inner = 1, conv layers inner = H*W.
            let inner = if r.random() { 1 } else { r.random_range(1..=400) };
            BiasCase { outer: r.random_range(1..=64), channels: r.random_range(1..=300), inner }
        })
        .collect()
}

#[test]
fn bias_add_matches_reference() {
    let mut cases = vec![
        BiasCase { outer: 1, channels: 1, inner: 1 },
        BiasCase { outer: 1, channels: 5, inner: 1 },
        BiasCase { outer: 7, channels: 1, inner: 33 },
        BiasCase { outer: 1, channels: 3, inner: 257 },
    ];
    cases.extend(random_bias_cases("bias_add", 26));
    // Rows far longer than a run of 32, past the spill into y (one invocation per row of one
    // value), and one maximal binding.
    cases.push(BiasCase { outer: 64, channels: 300, inner: 875 });
    cases.push(BiasCase { outer: 4097, channels: 4096, inner: 1 });
    cases.push(BiasCase { outer: 1, channels: 2, inner: MAX_BINDING_F32 / 2 });
    for (i, case) in cases.iter().enumerate() {
        let mut r = rng("bias_add", 1000 + i);
        let x = uniform(&mut r, case.numel(), -1.0, 1.0);
        let bias = uniform(&mut r, case.channels, -1.0, 1.0);
        let t = upload(&x);
        kernels::bias_add(gpu(), &t, &upload(&bias), case.outer, case.channels, case.inner);
        let mut want = x;
        reference::bias_add(&mut want, &bias, case.channels, case.inner);
        // One correctly rounded f32 add per element.
        assert_close("bias_add x", case, &read(&t), &want, Tol::EXACT);
    }
}

#[test]
fn bias_grad_matches_reference() {
    let mut cases = vec![
        BiasCase { outer: 1, channels: 1, inner: 1 },
        BiasCase { outer: 1, channels: 3, inner: 255 },
        BiasCase { outer: 2, channels: 1, inner: 129 },
        BiasCase { outer: 300, channels: 1, inner: 1 },
    ];
    cases.extend(random_bias_cases("bias_grad", 24));
    cases.extend([
        // A conv layer's gradient: 128 images of 28x28 over 300 channels.
        BiasCase { outer: 128, channels: 300, inner: 784 },
        // One maximal binding over 4 channels: 8.4M terms per sum.
        BiasCase { outer: 1024, channels: 4, inner: 8192 },
        // Thousands of workgroups, one per channel (65,535 would cost ~20 s on SwiftShader).
        BiasCase { outer: 3, channels: 4099, inner: 5 },
        BiasCase { outer: 1, channels: 256, inner: 65_536 },
    ]);
    for (i, case) in cases.iter().enumerate() {
        let dy = dyadic(&mut rng("bias_grad", i), case.numel());
        let db = gpu().empty(&[case.channels]);
        kernels::bias_grad(gpu(), &upload(&dy), &db, case.outer, case.channels, case.inner);
        // Multiples of 1/64 with partial sums far below 2^18: exact in any summation order.
        assert_close(
            "bias_grad db",
            case,
            &read(&db),
            &reference::bias_grad(&dy, case.channels, case.inner),
            Tol::EXACT,
        );
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolCase {
    pub(crate) planes: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
}

pub(crate) fn pool_cases() -> Vec<PoolCase> {
    let mut cases = vec![
        PoolCase { planes: 1, h: 1, w: 1 },
        PoolCase { planes: 2, h: 1, w: 6 },
        PoolCase { planes: 1, h: 2, w: 2 },
        PoolCase { planes: 3, h: 3, w: 3 },
        PoolCase { planes: 2, h: 5, w: 8 },
        PoolCase { planes: 4, h: 28, w: 28 },
    ];
    cases.extend((0..25).map(|i| {
        let mut r = rng("maxpool_shape", i);
        PoolCase { planes: r.random_range(1..=8), h: r.random_range(1..=17), w: r.random_range(1..=17) }
    }));
    // Rows longer than a run of 32; and one maximal binding of input in single columns, one
    // backward invocation per pair of rows, so that grid spills into y.
    cases.push(PoolCase { planes: 2048, h: 128, w: 128 });
    cases.push(PoolCase { planes: 4096, h: 8192, w: 1 });
    cases
}

/// Few distinct values, so windows often tie and the first maximum must win; every
/// seventh plane is constant.
pub(crate) fn pool_input(rng: &mut StdRng, c: &PoolCase) -> Vec<f32> {
    let plane = c.h * c.w;
    (0..c.planes * plane)
        .map(|i| if (i / plane) % 7 == 6 { 0.5 } else { rng.random_range(-2i32..=2) as f32 / 2.0 })
        .collect()
}

#[test]
fn maxpool_forward_and_backward_match_reference() {
    for (i, case) in pool_cases().iter().enumerate() {
        let mut r = rng("maxpool", i);
        let x = pool_input(&mut r, case);
        let (oh, ow) = (case.h / 2, case.w / 2);
        let gpu = gpu();
        let (y, arg) = (gpu.empty(&[case.planes, oh, ow]), gpu.empty_u32(&[case.planes, oh, ow]));
        kernels::maxpool2_forward(gpu, &upload(&x), &y, &arg, case.planes, case.h, case.w);
        let (want_y, want_arg) = reference::maxpool2_forward(&x, case.planes, case.h, case.w);
        // Selection only: exact.
        assert_close("maxpool y", case, &read(&y), &want_y, Tol::EXACT);
        assert_same("maxpool argmax", case, &read_u32(&arg), &want_arg);

        let dy = uniform(&mut r, case.planes * oh * ow, -1.0, 1.0);
        // Garbage in dx first: every element, odd edges included, must be written.
        let dx = upload(&vec![f32::NAN; case.planes * case.h * case.w]);
        kernels::maxpool2_backward(gpu, &upload(&dy), &dx, &arg, None, case.planes, case.h, case.w);
        let want_dx = reference::maxpool2_backward(&dy, &want_arg, case.planes, case.h, case.w);
        // Windows do not overlap: each input gets at most one gradient, copied exactly.
        assert_close("maxpool dx", case, &read(&dx), &want_dx, Tol::EXACT);

        // Over a ReLU's output: the pool's backward pass, then the ReLU's.
        let xr = reference::relu_forward(&x);
        let (yr, arg_r) = reference::maxpool2_forward(&xr, case.planes, case.h, case.w);
        let dx = upload(&vec![f32::NAN; case.planes * case.h * case.w]);
        kernels::maxpool2_backward(gpu, &upload(&dy), &dx, &upload_u32(&arg_r), Some(&upload(&yr)), case.planes, case.h, case.w);
        let want_dx = reference::relu_backward(&xr, &reference::maxpool2_backward(&dy, &arg_r, case.planes, case.h, case.w));
        assert_close("maxpool dx over a ReLU", case, &read(&dx), &want_dx, Tol::EXACT);
    }
}
