//! matmul.wgsl: both kernels (tiled `main` and the CPU-adapter `main_blocked`, with the
//! split-K `reduce_splits` behind them) on every adapter, in all four transpose forms,
//! overwriting and accumulating, against `reference::matmul` (f64 accumulation).

use crate::common::*;
use aer::kernels::{self, MatmulForm, MatmulVariant};
use aer::reference;
use rand::Rng;

const FORMS: [MatmulForm; 4] = [MatmulForm::NN, MatmulForm::NT, MatmulForm::TN, MatmulForm::TT];

const VARIANTS: [MatmulVariant; 2] = [MatmulVariant::Tiled, MatmulVariant::Blocked];

#[derive(Debug, Clone, Copy)]
struct Case {
    form: MatmulForm,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
}

/// See the table in main.rs: rounding of a length-k f32 dot product, plus one rounding of
/// the accumulated sum.
fn tol(k: usize, a: &[f32], b: &[f32]) -> Tol {
    Tol { abs: 2e-5 * (k.max(1) as f64).sqrt() * max_abs(a) * max_abs(b), rel: 1e-6 }
}

/// Run one case through both kernels, on the same inputs.
fn check(case: Case, seed: usize) {
    for variant in VARIANTS {
        check_variant(variant, case, seed);
    }
}

fn check_variant(variant: MatmulVariant, case: Case, seed: usize) {
    let Case { form, m, n, k, accumulate } = case;
    let mut rng = rng("matmul", seed);
    let a = uniform(&mut rng, m * k, -1.0, 1.0);
    let b = uniform(&mut rng, k * n, -1.0, 1.0);
    // Accumulating starts from random C; overwriting starts from garbage it must not read.
    let c0 = if accumulate { uniform(&mut rng, m * n, -1.0, 1.0) } else { vec![f32::NAN; m * n] };
    let gpu = gpu();
    let (ta, tb, tc) = (upload(&a), upload(&b), upload(&c0));
    kernels::matmul_with(gpu, variant, form, &ta, &tb, &tc, m, n, k, accumulate);
    let mut want = c0;
    reference::matmul(form, &a, &b, &mut want, m, n, k, accumulate);
    assert_close(&format!("matmul ({variant:?}) c"), &case, &read(&tc), &want, tol(k, &a, &b));
}

/// Hand-picked shapes: one off either side of the 64x64 tile and the 16-deep K step in every
/// form, exact tiles, size-1 and empty dimensions. 20 cases.
#[test]
fn matmul_edge_shapes() {
    let mut cases = Vec::new();
    for (m, n, k) in [(65, 63, 17), (63, 65, 15), (1, 129, 33), (130, 1, 47)] {
        for (j, form) in FORMS.into_iter().enumerate() {
            cases.push(Case { form, m, n, k, accumulate: j % 2 == 1 });
        }
    }
    let singles = [(1, 1, 1), (64, 64, 16), (128, 192, 64), (7, 9, 1)];
    for (j, (&(m, n, k), form)) in singles.iter().zip(FORMS).enumerate() {
        cases.push(Case { form, m, n, k, accumulate: j % 2 == 0 });
    }
    // K = 0: C is zero, or unchanged when accumulating.
    cases.extend(FORMS[..2].iter().map(|&form| Case { form, m: 5, n: 3, k: 0, accumulate: form == MatmulForm::NT }));
    for (i, case) in cases.into_iter().enumerate() {
        check(case, i);
    }
}

/// 5 random shapes over the four forms.
#[test]
fn matmul_random_shapes() {
    for i in 0..5 {
        let mut rng = rng("matmul_random_shapes", i);
        let case = Case {
            form: FORMS[i % 4],
            m: rng.random_range(1..200),
            n: rng.random_range(1..200),
            k: rng.random_range(1..300),
            accumulate: rng.random(),
        };
        check(case, 100 + i);
    }
}

/// Small outputs with K long enough that the launcher splits K over workgroups and sums the
/// slices with `reduce_splits`, overwriting and accumulating.
#[test]
fn matmul_split_k() {
    let cases = [
        Case { form: MatmulForm::NN, m: 5, n: 7, k: 700, accumulate: false },
        Case { form: MatmulForm::TN, m: 33, n: 17, k: 1000, accumulate: true },
        Case { form: MatmulForm::NT, m: 64, n: 64, k: 4096, accumulate: true },
        Case { form: MatmulForm::TT, m: 1, n: 1, k: 2561, accumulate: false },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        check(case, 150 + i);
    }
}

/// Thin shapes at WebGPU's default limits: an operand filling a 128 MiB binding, and grids
/// of 65,535 workgroups in x and in y for each kernel's grid (64x64 outputs per group for
/// `main`; 16x16 per lane and 16 lanes, laid out along the thin side, for `main_blocked`).
/// `main` costs ~10 s per 65,535 tiles on a CPU adapter, so it gets one such grid.
#[test]
fn matmul_thin_shapes_at_limits() {
    use MatmulVariant::{Blocked, Tiled};
    let cases = [
        // B [16, 2^21] is exactly one maximal binding.
        (Blocked, Case { form: MatmulForm::NN, m: 1, n: MAX_BINDING_F32 / 16, k: 16, accumulate: false }),
        // 65,535 groups across N; B is 512 floats short of a maximal binding.
        (Tiled, Case { form: MatmulForm::NT, m: 2, n: MAX_GROUPS * 64, k: 8, accumulate: true }),
        (Blocked, Case { form: MatmulForm::NT, m: 1, n: MAX_GROUPS * 256, k: 2, accumulate: true }),
        // 65,535 groups down M.
        (Blocked, Case { form: MatmulForm::TN, m: MAX_GROUPS * 256, n: 1, k: 1, accumulate: false }),
    ];
    for (i, (variant, case)) in cases.into_iter().enumerate() {
        check_variant(variant, case, 200 + i);
    }
}

/// Long K as conv weight gradients have it, dW = dy_cnhw * cols^T with K = N*OH*OW: 32 3x3
/// filters over 128 MNIST images (K = 100,352), LeNet's 6 5x5 filters over 16 images
/// (K = 12,544, M not a multiple of any block), and a grid wide enough that K is not split.
#[test]
fn matmul_long_k() {
    check(Case { form: MatmulForm::NT, m: 32, n: 9, k: 128 * 28 * 28, accumulate: false }, 300);
    check(Case { form: MatmulForm::NT, m: 6, n: 25, k: 16 * 28 * 28, accumulate: false }, 301);
    check(Case { form: MatmulForm::NT, m: 1, n: 2048, k: 70_000, accumulate: false }, 302);
}
