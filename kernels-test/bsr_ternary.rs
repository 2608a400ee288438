//! bsr_ternary.wgsl (forward and input gradient on block-sparse 2-bit codes) against
//! `reference::bsr_ternary`: the dense products of the dequantized ternary weights with the
//! weights outside kept blocks set to zero.
//!
//! Activations are multiples of 1/64 and scales multiples of 1/8, so every product and partial
//! sum is exact in f32 and the kernel must match the f64 references exactly.

use crate::bsr::Case;
use crate::common::*;
use aer::kernels::{self, packed, ActivationLayout, BsrTernary, PackedTernary, BSR_BLOCKS};
use aer::reference;
use rand::Rng;

fn check(c: Case, asymmetric: bool, seed: usize) {
    let mut rng = rng("bsr_ternary", seed);
    let (mask, _) = crate::bsr::masked_weights(&mut rng, &c);
    // Ternary values inside the mask (and, as after pruning, zero outside it).
    let t: Vec<i8> = mask.iter().map(|&mk| if mk == 0.0 || rng.random_bool(0.3) { 0 } else if rng.random() { 1 } else { -1 }).collect();
    let pos: Vec<f32> = (0..c.n).map(|_| rng.random_range(1..=16) as f32 / 8.0).collect();
    let neg: Vec<f32> = if asymmetric { (0..c.n).map(|_| rng.random_range(1..=16) as f32 / 8.0).collect() } else { pos.clone() };
    let pk = PackedTernary::upload(gpu(), &packed::pack(&t, c.n, c.k), &pos, &neg, c.n, c.k);
    let bt = pollster::block_on(BsrTernary::from_packed(gpu(), &upload(&mask), &pk, c.block)).expect("build the block-sparse ternary weights");
    crate::bsr_format::check_structure(&bt.structure, &mask, &c);

    let x = dyadic(&mut rng, c.m * c.k);
    let y = gpu().full(&[(c.m * c.n).max(1)], f32::NAN);
    kernels::bsr_ternary_matmul(gpu(), &upload(&x), &bt, &y, c.m, c.layout);
    let want = reference::bsr_ternary::bsr_ternary_matmul(&x, &t, &pos, &neg, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_ternary_matmul y", &(c, asymmetric), &read(&y)[..c.m * c.n], &want, Tol::EXACT);

    let dy = dyadic(&mut rng, c.m * c.n);
    let dx = gpu().full(&[(c.m * c.k).max(1)], f32::NAN);
    kernels::bsr_ternary_matmul_t(gpu(), &upload(&dy), &bt, &dx, c.m, c.layout);
    let want = reference::bsr_ternary::bsr_ternary_matmul_t(&dy, &t, &pos, &neg, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_ternary_matmul_t dx", &(c, asymmetric), &read(&dx)[..c.m * c.k], &want, Tol::EXACT);

    // |W| in the same codes (interval bounds' radius product).
    let abs = bt.abs(gpu());
    let w_abs: Vec<f32> = reference::ternary::dequantize(&t, &pos, &neg, c.n, c.k).iter().map(|v| v.abs()).collect();
    kernels::bsr_ternary_matmul(gpu(), &upload(&x), &abs, &y, c.m, c.layout);
    let want = reference::bsr::bsr_matmul(&x, &w_abs, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_ternary_matmul y, |W|", &(c, asymmetric), &read(&y)[..c.m * c.n], &want, Tol::EXACT);
}

/// Every block size (words holding 4, 8, 16 codes and two words for 32) at every density
/// (`Case::sweep`), symmetric and asymmetric scales.
#[test]
fn bsr_ternary_block_sizes_and_densities() {
    for (i, c) in BSR_BLOCKS.into_iter().flat_map(Case::sweep).enumerate() {
        check(c, i % 2 == 1, i);
    }
}

#[test]
fn bsr_ternary_random_shapes() {
    for i in 0..10 {
        let mut r = rng("bsr_ternary_random_shapes", i);
        let c = Case::random(&mut r);
        check(c, r.random(), 100 + i);
    }
}

/// The cnn preset's pruned layers at batch 8 (conv2 through im2col, fc1), and the largest
/// dispatch within WebGPU's default limits: 65,535 workgroups of 8 lanes x 16 rows along m
/// (x at 100 MB, under the 128 MiB binding limit).
#[test]
fn bsr_ternary_cnn_layers_and_large_dispatch() {
    check(Case { m: 8 * 196, n: 32, k: 400, block: 16, density: 0.1, layout: ActivationLayout::CONV, empty_rows: false }, false, 200);
    check(Case { m: 8, n: 256, k: 1568, block: 16, density: 0.1, layout: ActivationLayout::LINEAR, empty_rows: false }, true, 201);
    check(Case { m: 65_535 * 8 * 16, n: 2, k: 3, block: 4, density: 1.0, layout: ActivationLayout::CONV, empty_rows: false }, true, 202);
}

/// A convolution on im2col columns restricted to the patch rows its kept blocks read, forward
/// and input gradient, against the full-column reference.
#[test]
fn bsr_ternary_conv_on_active_rows() {
    use aer::kernels::Conv2dGeometry;
    for (i, (block, c, co)) in [(4, 3, 10), (8, 5, 9), (16, 4, 20), (32, 4, 33)].into_iter().enumerate() {
        let g = Conv2dGeometry { n: 2, c, h: 9, w: 7, kh: 3, kw: 3, stride: 1, pad: 1 };
        let (patch, pos) = (g.patch(), g.positions());
        let mut r = rng("bsr_ternary_conv_active", i);
        // Keep blocks only in every third block column.
        let mask: Vec<f32> = (0..co * patch).map(|e| ((e % patch) / block % 3 == 0 && r.random_bool(0.8)) as u32 as f32).collect();
        let t: Vec<i8> = mask.iter().map(|&mk| if mk == 0.0 { 0 } else if r.random() { 1 } else { -1 }).collect();
        let sp: Vec<f32> = (0..co).map(|_| r.random_range(1..=16) as f32 / 8.0).collect();
        let pk = PackedTernary::upload(gpu(), &packed::pack(&t, co, patch), &sp, &sp, co, patch);
        let bt = pollster::block_on(BsrTernary::from_packed(gpu(), &upload(&mask), &pk, block)).unwrap();
        let st = &bt.structure;
        let case = format!("{g:?}, block {block}, {} of {} block columns active", st.active.count, st.block_cols());
        let x = dyadic(&mut r, g.n * g.c * g.h * g.w);
        let full_cols = reference::im2col(&g, &x);
        let rows = gpu().empty(&[(st.active.count * block * pos).max(1)]);
        kernels::im2col_rows(gpu(), &g, &upload(&x), &st.active.rows, st.active.count * block, &rows);
        let y = gpu().empty(&[co * pos]);
        kernels::bsr_ternary_conv_forward(gpu(), &rows, &bt, &y, pos);
        let want = reference::bsr_ternary::bsr_ternary_matmul(&full_cols, &t, &sp, &sp, &mask, pos, co, patch, block, ActivationLayout::CONV);
        assert_close("bsr_ternary_conv_forward", &case, &read(&y), &want, Tol::EXACT);

        let dy = dyadic(&mut r, co * pos);
        let dcols = gpu().empty(&[(st.active.count * block * pos).max(1)]);
        kernels::bsr_ternary_conv_backward_data(gpu(), &upload(&dy), &bt, &dcols, pos);
        let dx = gpu().empty(&[x.len()]);
        kernels::col2im_rows(gpu(), &g, &dcols, &st.active.pos, &dx);
        let want = reference::col2im(&g, &reference::bsr_ternary::bsr_ternary_matmul_t(&dy, &t, &sp, &sp, &mask, pos, co, patch, block, ActivationLayout::CONV));
        assert_close("bsr_ternary_conv_backward_data + col2im_rows", &case, &read(&dx), &want, Tol::EXACT);
    }
}
