//! conv2d.wgsl against `reference::conv2d`: im2col, col2im (against the reference and as
//! im2col's adjoint), both permutes, and the forward convolution they compose with matmul and
//! bias_add (against `reference::conv2d_forward`).

use crate::common::*;
use aer::kernels::{self, Conv2dGeometry, MatmulForm};
use aer::reference;
use rand::rngs::StdRng;
use rand::Rng;

/// Kernels 1..=5 (not necessarily square), stride 1 or 2, padding 0..=2, non-square inputs.
pub(crate) fn random_geometry(rng: &mut StdRng) -> Conv2dGeometry {
    loop {
        let g = Conv2dGeometry {
            n: rng.random_range(1..=3),
            c: rng.random_range(1..=4),
            h: rng.random_range(1..=13),
            w: rng.random_range(1..=13),
            kh: rng.random_range(1..=5),
            kw: rng.random_range(1..=5),
            stride: rng.random_range(1..=2),
            pad: rng.random_range(0..=2),
        };
        if g.h + 2 * g.pad >= g.kh && g.w + 2 * g.pad >= g.kw {
            return g;
        }
    }
}

pub(crate) fn geometry(n: usize, c: usize, h: usize, w: usize, k: usize, stride: usize, pad: usize) -> Conv2dGeometry {
    Conv2dGeometry { n, c, h, w, kh: k, kw: k, stride, pad }
}

/// 1x1 everything, a kernel covering the whole padded input, padding wider than the kernel.
pub(crate) fn edge_geometries() -> Vec<Conv2dGeometry> {
    vec![
        geometry(1, 1, 1, 1, 1, 1, 0),
        geometry(1, 1, 1, 1, 3, 1, 1),
        geometry(2, 3, 5, 4, 5, 2, 2),
        geometry(1, 2, 3, 3, 1, 2, 2),
    ]
}

/// Grids past 65,535 workgroups spill into y. im2col and col2im run one invocation per run
/// of up to 32 elements along a row, so single-column images make the most invocations:
/// 17M rows of width 1 (with a 1x1 kernel, so the columns fit one 128 MiB binding).
fn spill_geometry() -> Conv2dGeometry {
    let g = Conv2dGeometry { n: 1, c: 1, h: SPILL_1D + 4, w: 1, kh: 1, kw: 1, stride: 1, pad: 0 };
    assert!(g.patch() * g.n * g.oh() >= SPILL_1D && g.n * g.c * g.h >= SPILL_1D);
    g
}

/// Rows far wider than a run, with a kernel wide enough that a per-pixel loop over whole rows
/// would pass llvmpipe's 65,535 iterations per invocation.
fn wide_geometry() -> Conv2dGeometry {
    geometry(1, 1, 3, 3000, 5, 1, 2)
}

fn run_im2col(g: &Conv2dGeometry, x: &[f32]) -> Vec<f32> {
    let cols = gpu().empty(&[g.patch(), g.positions()]);
    kernels::im2col(gpu(), g, &upload(x), &cols);
    read(&cols)
}

fn run_col2im(g: &Conv2dGeometry, cols: &[f32]) -> Vec<f32> {
    let dx = gpu().empty(&[g.n, g.c, g.h, g.w]);
    kernels::col2im(gpu(), g, &upload(cols), &dx);
    read(&dx)
}

/// col2im sums at most kh*kw terms of magnitude <= 1 per pixel, in an order the reference
/// need not share: first-order rounding bound (kh*kw)^2 * 2^-24.
fn col2im_tol(g: &Conv2dGeometry) -> Tol {
    Tol { abs: ((g.kh * g.kw).pow(2)) as f64 * f32::EPSILON as f64 / 2.0, rel: 0.0 }
}

#[test]
fn im2col_matches_reference() {
    let mut cases = edge_geometries();
    cases.extend((0..26).map(|i| random_geometry(&mut rng("im2col_geometry", i))));
    cases.push(spill_geometry());
    cases.push(wide_geometry());
    // Input and columns each exactly one maximal 128 MiB binding.
    cases.push(geometry(1, 2, 4096, 4096, 1, 1, 0));
    for (i, g) in cases.iter().enumerate() {
        let x = uniform(&mut rng("im2col", i), g.n * g.c * g.h * g.w, -1.0, 1.0);
        // A pure gather: exact.
        assert_close("im2col cols", g, &run_im2col(g, &x), &reference::im2col(g, &x), Tol::EXACT);
    }
}

#[test]
fn col2im_matches_reference_and_is_adjoint_of_im2col() {
    let mut cases = edge_geometries();
    cases.extend((0..27).map(|i| random_geometry(&mut rng("col2im_geometry", i))));
    cases.push(spill_geometry());
    cases.push(wide_geometry());
    for (i, g) in cases.iter().enumerate() {
        let mut rng = rng("col2im", i);
        let x = uniform(&mut rng, g.n * g.c * g.h * g.w, -1.0, 1.0);
        let y = uniform(&mut rng, g.patch() * g.positions(), -1.0, 1.0);
        let dx = run_col2im(g, &y);
        assert_close("col2im dx", g, &dx, &reference::col2im(g, &y), col2im_tol(g));
        // <im2col(x), y> == <x, col2im(y)>, in f64 on the GPU's outputs; the only error
        // is col2im's rounding, bounded relative to the sum of |terms|.
        let cols = run_im2col(g, &x);
        let lhs: f64 = cols.iter().zip(&y).map(|(a, b)| *a as f64 * *b as f64).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| *a as f64 * *b as f64).sum();
        let scale: f64 = cols.iter().zip(&y).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
        let bound = 1e-6 * (g.kh * g.kw) as f64 * scale;
        assert!(
            (lhs - rhs).abs() <= bound,
            "adjoint: <im2col(x), y> = {lhs:e} but <x, col2im(y)> = {rhs:e} (allowed {bound:e}); case {g:?}"
        );
    }
}

#[derive(Debug, Clone, Copy)]
struct PermuteCase {
    n: usize,
    c: usize,
    hw: usize,
}

fn permute_cases(test: &str) -> Vec<PermuteCase> {
    let mut cases = vec![
        PermuteCase { n: 1, c: 1, hw: 1 },
        PermuteCase { n: 1, c: 7, hw: 9 },
        PermuteCase { n: 5, c: 1, hw: 3 },
        PermuteCase { n: 3, c: 4, hw: 1 },
    ];
    cases.extend((0..27).map(|i| {
        let mut r = rng(test, i);
        PermuteCase { n: r.random_range(1..=16), c: r.random_range(1..=64), hw: r.random_range(1..=300) }
    }));
    // Planes far longer than a run of 32; and 16.8M planes of one value each, one invocation
    // per plane, so the grid spills into y.
    cases.push(PermuteCase { n: 3, c: 5, hw: 1_118_500 });
    cases.push(PermuteCase { n: 4097, c: 4096, hw: 1 });
    cases
}

#[test]
fn cnhw_to_nchw_matches_reference() {
    for (i, p) in permute_cases("cnhw_to_nchw").into_iter().enumerate() {
        let src = uniform(&mut rng("cnhw_to_nchw", i), p.n * p.c * p.hw, -1.0, 1.0);
        let dst = gpu().empty(&[p.n, p.c, p.hw]);
        kernels::cnhw_to_nchw(gpu(), &upload(&src), &dst, p.n, p.c, p.hw);
        assert_close(
            "cnhw_to_nchw",
            &p,
            &read(&dst),
            &reference::permute_cnhw_to_nchw(&src, p.n, p.c, p.hw),
            Tol::EXACT,
        );
    }
}

#[test]
fn nchw_to_cnhw_matches_reference() {
    for (i, p) in permute_cases("nchw_to_cnhw").into_iter().enumerate() {
        let src = uniform(&mut rng("nchw_to_cnhw", i), p.n * p.c * p.hw, -1.0, 1.0);
        let dst = gpu().empty(&[p.c, p.n, p.hw]);
        kernels::nchw_to_cnhw(gpu(), &upload(&src), &dst, p.n, p.c, p.hw);
        assert_close(
            "nchw_to_cnhw",
            &p,
            &read(&dst),
            &reference::permute_nchw_to_cnhw(&src, p.n, p.c, p.hw),
            Tol::EXACT,
        );
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug in failure messages
pub(crate) struct ConvCase {
    pub(crate) geometry: Conv2dGeometry,
    pub(crate) out_channels: usize,
}

/// The forward path a conv layer takes: im2col, W [co, c*kh*kw] x cols, cnhw_to_nchw, bias.
#[test]
fn conv2d_forward_composes_from_kernels() {
    let mut cases: Vec<ConvCase> = (0..15)
        .map(|i| {
            let mut r = rng("conv2d_forward_geometry", i);
            ConvCase { geometry: random_geometry(&mut r), out_channels: r.random_range(1..=8) }
        })
        .collect();
    // Several 64x64 matmul tiles in both directions, K not a multiple of 16.
    cases.push(ConvCase {
        geometry: Conv2dGeometry { n: 3, c: 3, h: 19, w: 26, kh: 3, kw: 2, stride: 1, pad: 1 },
        out_channels: 70,
    });
    for (i, case) in cases.iter().enumerate() {
        let (g, co) = (&case.geometry, case.out_channels);
        let mut r = rng("conv2d_forward", i);
        let x = uniform(&mut r, g.n * g.c * g.h * g.w, -1.0, 1.0);
        let w = uniform(&mut r, co * g.patch(), -1.0, 1.0);
        let bias = uniform(&mut r, co, -1.0, 1.0);
        let gpu = gpu();
        let cols = gpu.empty(&[g.patch(), g.positions()]);
        kernels::im2col(gpu, g, &upload(&x), &cols);
        let y_cn = gpu.empty(&[co, g.positions()]);
        kernels::matmul(gpu, MatmulForm::NN, &upload(&w), &cols, &y_cn, co, g.positions(), g.patch(), false);
        let hw = g.oh() * g.ow();
        let y = gpu.empty(&[g.n, co, g.oh(), g.ow()]);
        kernels::cnhw_to_nchw(gpu, &y_cn, &y, g.n, co, hw);
        kernels::bias_add(gpu, &y, &upload(&bias), g.n, co, hw);
        // The matmul tolerance for K = c*kh*kw, plus the bias add's rounding.
        let tol = Tol { abs: 2e-5 * (g.patch() as f64).sqrt() * max_abs(&x) * max_abs(&w), rel: 1e-6 };
        assert_close("conv2d y", case, &read(&y), &reference::conv2d_forward(g, &x, &w, &bias, co), tol);
    }
}
