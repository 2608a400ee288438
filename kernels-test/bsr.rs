//! bsr.wgsl (forward, input gradient, weight gradient, gather) against `reference::bsr`: the
//! dense computations with the weights outside kept blocks set to zero. Each case also checks
//! the structure bsr_format.wgsl builds (`bsr_format::check_structure`).
//!
//! Inputs are multiples of 1/64 (or of 1/8 for long reductions), so every product and partial
//! sum is exact in f32 and the kernels must match the f64 references exactly.

use crate::common::*;
use aer::kernels::{self, ActivationLayout, Bsr, BSR_BLOCKS};
use aer::reference;
use rand::rngs::StdRng;
use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Case {
    pub(crate) m: usize,
    pub(crate) n: usize,
    pub(crate) k: usize,
    pub(crate) block: usize,
    /// Share of blocks kept.
    pub(crate) density: f64,
    pub(crate) layout: ActivationLayout,
    /// Leave every other block row empty.
    pub(crate) empty_rows: bool,
}

impl Case {
    /// Every density from no block at all to every block at `block` on a shape off the block
    /// (and off the rows and columns an invocation covers), in every layout, one with empty
    /// block rows; then exact multiples of the block, and a single row.
    pub(crate) fn sweep(block: usize) -> Vec<Case> {
        let mut v: Vec<Case> = [0.0, 0.05, 0.1, 0.25, 0.5, 1.0]
            .into_iter()
            .enumerate()
            .map(|(j, density)| Case { m: 37, n: 45, k: 70, block, density, layout: LAYOUTS[j % 4], empty_rows: j == 3 })
            .collect();
        v.push(Case { m: 64, n: 2 * block, k: 3 * block, block, density: 0.5, layout: LAYOUTS[2], empty_rows: false });
        v.push(Case { m: 1, n: block + 1, k: 1, block, density: 1.0, layout: LAYOUTS[3], empty_rows: false });
        v
    }

    /// A random shape, block size, density and layout.
    pub(crate) fn random(r: &mut StdRng) -> Case {
        Case {
            m: r.random_range(1..300),
            n: r.random_range(1..150),
            k: r.random_range(1..150),
            block: BSR_BLOCKS[r.random_range(0..4)],
            density: r.random_range(0.0..1.0),
            layout: LAYOUTS[r.random_range(0..4)],
            empty_rows: r.random(),
        }
    }
}

/// A mask with whole blocks kept at `density` (and a few zeros inside kept blocks, as an
/// element mask after block pruning may have), and the weights it masks.
pub(crate) fn masked_weights(rng: &mut StdRng, c: &Case) -> (Vec<f32>, Vec<f32>) {
    let cols = c.k.div_ceil(c.block);
    let keep: Vec<bool> = (0..c.n.div_ceil(c.block) * cols)
        .map(|b| !(c.empty_rows && (b / cols) % 2 == 1) && rng.random_bool(c.density))
        .collect();
    let mask: Vec<f32> = (0..c.n * c.k)
        .map(|i| {
            let b = (i / c.k / c.block) * cols + (i % c.k) / c.block;
            (keep[b] && rng.random_bool(0.9)) as u32 as f32
        })
        .collect();
    let w = reference::apply_mask(&mask, &dyadic(rng, c.n * c.k));
    (mask, w)
}

pub(crate) fn build(mask: &[f32], w: &[f32], c: &Case) -> Bsr {
    pollster::block_on(Bsr::from_mask(gpu(), &upload(mask), &upload(w), c.n, c.k, c.block)).expect("build the block-sparse structure")
}

fn check(c: Case, seed: usize) {
    let mut rng = rng("bsr", seed);
    let (mask, w) = masked_weights(&mut rng, &c);
    let bsr = build(&mask, &w, &c);
    crate::bsr_format::check_structure(&bsr, &mask, &c);

    let x = dyadic(&mut rng, c.m * c.k);
    let y = gpu().full(&[(c.m * c.n).max(1)], f32::NAN);
    kernels::bsr_matmul(gpu(), &upload(&x), &bsr, &y, c.m, c.layout);
    let want = reference::bsr::bsr_matmul(&x, &w, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_matmul y", &c, &read(&y)[..c.m * c.n], &want, Tol::EXACT);

    let dy = dyadic(&mut rng, c.m * c.n);
    let dx = gpu().full(&[(c.m * c.k).max(1)], f32::NAN);
    kernels::bsr_matmul_t(gpu(), &upload(&dy), &bsr, &dx, c.m, c.layout);
    let want = reference::bsr::bsr_matmul_t(&dy, &w, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_matmul_t dx", &c, &read(&dx)[..c.m * c.k], &want, Tol::EXACT);

    let dw = gpu().full(&[(c.n * c.k).max(1)], f32::NAN);
    kernels::bsr_weight_grad(gpu(), &upload(&dy), &upload(&x), &bsr, &dw, c.m, c.layout);
    let want = reference::bsr::bsr_weight_grad(&dy, &x, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_weight_grad dw", &c, &read(&dw)[..c.n * c.k], &want, Tol::EXACT);
}

/// Every block size at every density (`Case::sweep`).
#[test]
fn bsr_block_sizes_and_densities() {
    for (i, c) in BSR_BLOCKS.into_iter().flat_map(Case::sweep).enumerate() {
        check(c, i);
    }
}

#[test]
fn bsr_random_shapes() {
    for i in 0..10 {
        check(Case::random(&mut rng("bsr_random_shapes", i)), 100 + i);
    }
}

/// The cnn preset's layers at batch 8: conv2 through im2col (columns [400, positions]) and
/// fc1 [256, 1568]; and a weight gradient whose m is long enough to be split into slices
/// (and past what one llvmpipe invocation may loop over), with inputs coarse enough to stay
/// exact.
#[test]
fn bsr_cnn_layers_and_long_reductions() {
    check(Case { m: 8 * 196, n: 32, k: 400, block: 16, density: 0.3, layout: ActivationLayout::CONV, empty_rows: false }, 200);
    check(Case { m: 8, n: 256, k: 1568, block: 32, density: 0.1, layout: ActivationLayout::LINEAR, empty_rows: false }, 201);

    let c = Case { m: 70_000, n: 20, k: 9, block: 8, density: 1.0, layout: ActivationLayout::CONV, empty_rows: false };
    let mut r = rng("bsr_long_m", 0);
    let (mask, w) = masked_weights(&mut r, &c);
    let bsr = build(&mask, &w, &c);
    let coarse = |r: &mut StdRng, n: usize| -> Vec<f32> { (0..n).map(|_| r.random_range(-8i32..=8) as f32 / 8.0).collect() };
    let (dy, x) = (coarse(&mut r, c.m * c.n), coarse(&mut r, c.m * c.k));
    let dw = gpu().empty(&[c.n * c.k]);
    kernels::bsr_weight_grad(gpu(), &upload(&dy), &upload(&x), &bsr, &dw, c.m, c.layout);
    let want = reference::bsr::bsr_weight_grad(&dy, &x, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_weight_grad dw, long m", &c, &read(&dw), &want, Tol::EXACT);
}

/// After the dense weights change (an optimizer step), bsr_gather brings the blocks up to date;
/// the structure, and so the zeros outside it, stay.
#[test]
fn bsr_gather_refreshes_values() {
    let c = Case { m: 5, n: 40, k: 33, block: 8, density: 0.4, layout: ActivationLayout::LINEAR, empty_rows: false };
    let mut r = rng("bsr_gather", 0);
    let (mask, w) = masked_weights(&mut r, &c);
    let bsr = build(&mask, &w, &c);
    let w2 = reference::apply_mask(&mask, &dyadic(&mut r, c.n * c.k));
    kernels::bsr_gather(gpu(), &upload(&w2), &bsr);
    let x = dyadic(&mut r, c.m * c.k);
    let y = gpu().empty(&[c.m * c.n]);
    kernels::bsr_matmul(gpu(), &upload(&x), &bsr, &y, c.m, c.layout);
    let want = reference::bsr::bsr_matmul(&x, &w2, &mask, c.m, c.n, c.k, c.block, c.layout);
    assert_close("bsr_matmul after gather", &c, &read(&y), &want, Tol::EXACT);
}

/// A convolution on im2col columns restricted to the patch rows its kept blocks read
/// (`im2col_rows`, `col2im_rows`), against the full-column reference: forward, input gradient
/// and weight gradient, with block columns left empty on purpose.
#[test]
fn bsr_conv_on_active_rows() {
    use aer::kernels::Conv2dGeometry;
    for (i, (block, c, co, stride)) in [(4, 3, 10, 1), (8, 5, 9, 2), (16, 4, 20, 1)].into_iter().enumerate() {
        let g = Conv2dGeometry { n: 2, c, h: 9, w: 7, kh: 3, kw: 3, stride, pad: 1 };
        let (patch, pos) = (g.patch(), g.positions());
        let mut r = rng("bsr_conv_active", i);
        // Keep blocks only in every third block column.
        let cols_q = patch.div_ceil(block);
        let mask: Vec<f32> = (0..co * patch).map(|e| ((e % patch) / block % 3 == 0 && r.random_bool(0.8)) as u32 as f32).collect();
        let w = reference::apply_mask(&mask, &dyadic(&mut r, co * patch));
        let bsr = pollster::block_on(Bsr::from_mask(gpu(), &upload(&mask), &upload(&w), co, patch, block)).unwrap();
        let case = format!("{g:?}, block {block}, {} of {cols_q} block columns active", bsr.active.count);
        assert!(bsr.active.count < cols_q, "{case}");
        let x = dyadic(&mut r, g.n * g.c * g.h * g.w);
        let full_cols = reference::im2col(&g, &x);
        let rows = gpu().empty(&[bsr.active.count * block * pos]);
        kernels::im2col_rows(gpu(), &g, &upload(&x), &bsr.active.rows, bsr.active.count * block, &rows);
        let y = gpu().empty(&[co * pos]);
        kernels::bsr_conv_forward(gpu(), &rows, &bsr, &y, pos);
        let want = reference::bsr::bsr_matmul(&full_cols, &w, &mask, pos, co, patch, block, ActivationLayout::CONV);
        assert_close("bsr_conv_forward", &case, &read(&y), &want, Tol::EXACT);

        let dy = dyadic(&mut r, co * pos);
        let dcols = gpu().empty(&[bsr.active.count * block * pos]);
        kernels::bsr_conv_backward_data(gpu(), &upload(&dy), &bsr, &dcols, pos);
        let dx = gpu().empty(&[x.len()]);
        kernels::col2im_rows(gpu(), &g, &dcols, &bsr.active.pos, &dx);
        let want = reference::col2im(&g, &reference::bsr::bsr_matmul_t(&dy, &w, &mask, pos, co, patch, block, ActivationLayout::CONV));
        assert_close("bsr_conv_backward_data + col2im_rows", &case, &read(&dx), &want, Tol::EXACT);

        let dw = gpu().empty(&[co * patch]);
        kernels::bsr_conv_weight_grad(gpu(), &upload(&dy), &rows, &bsr, &dw, pos);
        let want = reference::bsr::bsr_weight_grad(&dy, &full_cols, &mask, pos, co, patch, block, ActivationLayout::CONV);
        assert_close("bsr_conv_weight_grad", &case, &read(&dw), &want, Tol::EXACT);
    }
}
