//! channel_skip.wgsl (products over winners-take-all's kept channels) and im2col with KEPT
//! against the dense products of `reference::channel_skip` on inputs whose dropped channels are
//! zeroed. The inputs keep their dropped channels nonzero, so reading one shows. Shapes cover
//! the cnn preset's layers after WTA, sizes off the 4-row and 16 x 16 blocks, one
//! channel kept, all kept, and more invocations than one grid dimension holds.

use crate::common::*;
use aer::kernels::{self, Conv2dGeometry, SkipShape};
use aer::reference::channel_skip as reference;
use rand::seq::index::sample;
use rand::rngs::StdRng;

/// Per example, `keep` distinct channels of `c`, ascending (as wta_select writes them).
fn kept_lists(r: &mut StdRng, n: usize, c: usize, keep: usize) -> Vec<u32> {
    (0..n)
        .flat_map(|_| {
            let mut v: Vec<u32> = sample(r, c, keep).into_iter().map(|i| i as u32).collect();
            v.sort();
            v
        })
        .collect()
}

fn check_linear(s: SkipShape, seed: usize) {
    let mut r = rng("skip_linear", seed);
    let (w, x) = (dyadic(&mut r, s.m * s.k), dyadic(&mut r, s.n * s.k));
    let kept = kept_lists(&mut r, s.n, s.k / s.g, s.keep);
    let y = gpu().full(&[s.n * s.m], f32::NAN);
    kernels::skip_linear(gpu(), s, &upload(&w), &upload(&x), &upload_u32(&kept), &y);
    // Dyadic inputs: every product and partial sum is exact.
    assert_close("skip_linear", &s, &read(&y), &reference::skip_linear(s, &w, &x, &kept), Tol::EXACT);
}

fn check_conv(g: Conv2dGeometry, co: usize, keep: usize, seed: usize) {
    let mut r = rng("skip_conv", seed);
    let (w, x) = (dyadic(&mut r, co * g.patch()), dyadic(&mut r, g.n * g.c * g.h * g.w));
    let kept = kept_lists(&mut r, g.n, g.c, keep);
    let gk = upload_u32(&kept);
    let taps = g.kh * g.kw;
    let cols = gpu().full(&[keep * taps * g.positions()], f32::NAN);
    kernels::im2col_kept(gpu(), &g, &upload(&x), &gk, keep, &cols);
    // im2col_kept: image img's columns of row j * taps + q are im2col's row kept[img, j] * taps + q.
    let full = aer::reference::im2col(&g, &x);
    let per = g.oh() * g.ow();
    let want_cols: Vec<f32> = (0..keep * taps)
        .flat_map(|row| {
            let (j, q) = (row / taps, row % taps);
            let kept = &kept;
            let full = &full;
            (0..g.n).flat_map(move |img| {
                let src = (kept[img * keep + j] as usize * taps + q) * g.positions() + img * per;
                full[src..src + per].to_vec()
            })
        })
        .collect();
    let case = (g, co, keep);
    assert_close("im2col_kept", &case, &read(&cols), &want_cols, Tol::EXACT);
    let s = SkipShape { n: g.n, m: co, k: g.patch(), g: taps, keep, p: per };
    let y = gpu().full(&[g.n * co * per], f32::NAN);
    kernels::skip_conv(gpu(), s, &upload(&w), &cols, &gk, &y);
    assert_close("skip_conv", &case, &read(&y), &reference::skip_conv(&g, co, &w, &x, &kept, keep), Tol::EXACT);
    // Backward: the kept rows' input gradient, then col2im into the kept channels of a zeroed dx.
    let dy = dyadic(&mut r, g.n * co * per);
    let dcols = gpu().full(&[keep * taps * g.positions()], f32::NAN);
    kernels::skip_conv_backward_data(gpu(), s, &upload(&w), &upload(&dy), &gk, &dcols);
    let dx = gpu().zeros(&[g.n, g.c, g.h, g.w]);
    kernels::col2im_kept(gpu(), &g, &dcols, &gk, keep, &dx);
    let want = reference::skip_conv_backward_data(&g, co, &w, &dy, &kept, keep);
    assert_close("skip_conv_backward_data + col2im_kept", &case, &read(&dx), &want, Tol::EXACT);
    // The weight gradient from the same kept columns, over stale values.
    if kernels::skips_weight_grad(&s) {
        let dw = gpu().full(&[co * g.patch()], f32::NAN);
        kernels::skip_conv_weight_grad(gpu(), s, &upload(&dy), &cols, &gk, &dw);
        let want = reference::skip_conv_weight_grad(&g, co, &x, &dy, &kept, keep);
        assert_close("skip_conv_weight_grad", &case, &read(&dw), &want, Tol::EXACT);
    }
}

#[test]
fn skip_linear_matches_reference() {
    // (n, m, channels, g, keep): the cnn's fc1 after its WTA (32 channels of 7x7), fc2 after
    // fc1's (256 units), and odd sizes.
    let cases = [(1, 256, 32, 49, 16), (5, 256, 32, 49, 8), (3, 10, 256, 1, 128), (2, 7, 13, 3, 13), (4, 1, 5, 2, 1), (3, 9, 300, 1, 299)];
    for (i, (n, m, c, g, keep)) in cases.into_iter().enumerate() {
        check_linear(SkipShape { n, m, k: c * g, g, keep, p: 1 }, i);
    }
}

#[test]
fn skip_conv_matches_reference() {
    // (n, c, h, w, kernel, stride, pad, co, keep): the cnn's conv2 after conv1's WTA, and odd sizes.
    let cases = [
        (2, 16, 14, 14, 5, 1, 2, 32, 8),
        (3, 16, 14, 14, 5, 1, 2, 32, 4),
        (1, 5, 9, 7, 3, 2, 1, 13, 5),
        (2, 3, 6, 5, 3, 1, 0, 3, 1),
        (4, 7, 5, 5, 1, 1, 0, 9, 6),
        // Weight gradients off the 8 x 8 blocks: 8 x 6 positions, 11 outputs, 3 of 7 channels.
        (3, 7, 8, 6, 3, 1, 1, 11, 3),
        // 10 x 4 positions, every channel kept.
        (2, 4, 10, 4, 3, 1, 1, 6, 4),
    ];
    for (i, (n, c, h, w, kernel, stride, pad, co, keep)) in cases.into_iter().enumerate() {
        check_conv(Conv2dGeometry { n, c, h, w, kh: kernel, kw: kernel, stride, pad }, co, keep, i);
    }
}

#[test]
fn skip_grid_limits() {
    // More invocations than 65,535 groups of 64 hold in x: the grid spills into y.
    check_linear(SkipShape { n: 16_500, m: 1024, k: 3, g: 1, keep: 2, p: 1 }, 100);
}
