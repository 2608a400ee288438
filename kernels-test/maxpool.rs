//! maxpool.wgsl against `reference::{maxpool2_forward, maxpool2_backward}`, alone and over a
//! ReLU's output.

use crate::common::*;
use aer::kernels;
use aer::reference;
use rand::rngs::StdRng;
use rand::Rng;

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
