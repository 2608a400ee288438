//! matmul.wgsl: every kernel (tiled `main` and the CPU-adapter `main_blocked` and `main_wide`,
//! with the split-K `reduce_splits` behind them, and `main_dot` where a CPU variant picks it) on every adapter, in all four transpose forms,
//! overwriting and accumulating, and the matrix-vector product `matvec`, against
//! `reference::matmul` (f64 accumulation).

use crate::common::*;
use aer::kernels::{self, MatmulForm, MatmulVariant};
use aer::reference;
use rand::Rng;

const FORMS: [MatmulForm; 4] = [MatmulForm::NN, MatmulForm::NT, MatmulForm::TN, MatmulForm::TT];

const VARIANTS: [MatmulVariant; 3] = [MatmulVariant::Tiled, MatmulVariant::Blocked, MatmulVariant::Wide];

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

/// Run one case through every kernel, on the same inputs.
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

/// Hand-picked shapes: every form, overwriting and accumulating, off the 64x64 tile and the
/// 16-deep K step; ragged rows for each lane layout of `main_blocked` (1, 2, 4 or 8 lanes
/// down for M up to 32, 64, 128 or more); size-1 and empty dimensions. 17 cases.
///
/// On lavapipe each new specialisation of `main_blocked` (form, accumulate, lane layout)
/// costs ~12 s to JIT until Mesa's shader cache holds it, so forms and accumulation are
/// crossed at one lane layout and the other layouts run in form NN only.
#[test]
fn matmul_edge_shapes() {
    let mut cases = Vec::new();
    for form in FORMS {
        for accumulate in [false, true] {
            cases.push(Case { form, m: 17, n: 129, k: 33, accumulate });
        }
    }
    let nn = |m, n, k| Case { form: MatmulForm::NN, m, n, k, accumulate: false };
    cases.extend([nn(63, 65, 15), nn(65, 63, 17), nn(130, 1, 47), nn(128, 192, 64), nn(200, 70, 31)]);
    cases.push(Case { form: MatmulForm::NN, m: 1, n: 1, k: 1, accumulate: true });
    cases.push(Case { form: MatmulForm::TT, m: 7, n: 9, k: 1, accumulate: false });
    // K = 0: C is zero, or unchanged when accumulating.
    cases.push(Case { form: MatmulForm::NN, m: 5, n: 3, k: 0, accumulate: false });
    cases.push(Case { form: MatmulForm::NT, m: 5, n: 3, k: 0, accumulate: true });
    for (i, case) in cases.into_iter().enumerate() {
        check(case, i);
    }
}

/// 7 random shapes: any form with M <= 32, and NN with taller M (see `matmul_edge_shapes`).
#[test]
fn matmul_random_shapes() {
    for i in 0..7 {
        let mut rng = rng("matmul_random_shapes", i);
        let tall = i >= 4;
        let case = Case {
            form: if tall { MatmulForm::NN } else { FORMS[rng.random_range(0..4)] },
            m: if tall { rng.random_range(33..300) } else { rng.random_range(1..=32) },
            n: rng.random_range(1..300),
            k: rng.random_range(1..300),
            accumulate: !tall && rng.random(),
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
        Case { form: MatmulForm::TN, m: 17, n: 33, k: 1000, accumulate: true },
        Case { form: MatmulForm::NT, m: 32, n: 64, k: 4096, accumulate: true },
        Case { form: MatmulForm::TT, m: 1, n: 1, k: 2561, accumulate: false },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        check(case, 150 + i);
    }
}

/// Small A * B^T products over a long K, which the blocked variant runs on `main_dot`: rows
/// and columns off its 8x8 block, one row or column, accumulating, K long enough for several
/// layers of splits; and K not a multiple of 4 (back on `main_blocked`).
#[test]
fn matmul_dot_shapes() {
    let nt = |m, n, k, accumulate| Case { form: MatmulForm::NT, m, n, k, accumulate };
    let cases = [nt(16, 25, 100_352, false), nt(9, 13, 4100, true), nt(1, 31, 8192, false), nt(32, 32, 4096, true), nt(7, 5, 1_000_000, false)];
    for (i, case) in cases.into_iter().enumerate() {
        assert!(kernels::takes_dot(case.form, case.m, case.n, case.k), "{case:?}");
        check_variant(MatmulVariant::Cpu, case, 170 + i);
    }
    let ragged = nt(16, 25, 4097, false);
    assert!(!kernels::takes_dot(ragged.form, ragged.m, ragged.n, ragged.k));
    check_variant(MatmulVariant::Cpu, ragged, 180);
}

/// Thin shapes at WebGPU's default limits: C filling a maximal 128 MiB binding, and 65,535
/// workgroups across N as the launcher lays them out (`main`: 64 columns per group;
/// `main_blocked`: 8 lanes of 16 columns) with an operand within 512 floats of a maximal
/// binding (`main_wide`: 8 lanes of 32 columns, C as large as a binding allows). `main` pays for whole 64x64x16 tiles, ~15-35 s for 65,535 of them on a CPU
/// adapter, so that grid runs only on GPUs.
#[test]
fn matmul_thin_shapes_at_limits() {
    use MatmulVariant::{Blocked, Tiled, Wide};
    let mut cases = vec![
        (Tiled, Case { form: MatmulForm::NN, m: 4096, n: MAX_BINDING_F32 / 4096, k: 1, accumulate: false }),
        // C [4, N] just under a maximal binding.
        (Blocked, Case { form: MatmulForm::NT, m: 4, n: MAX_GROUPS * 128, k: 1, accumulate: true }),
        // C [2, N] just under a maximal binding: 8 lanes of 32 columns, 65,535 workgroups.
        (Wide, Case { form: MatmulForm::NT, m: 2, n: MAX_GROUPS * 256, k: 1, accumulate: false }),
    ];
    if gpu().info.device_type != wgpu::DeviceType::Cpu {
        // B [N, 8] just under a maximal binding.
        cases.push((Tiled, Case { form: MatmulForm::NT, m: 2, n: MAX_GROUPS * 64, k: 8, accumulate: true }));
    }
    for (i, (variant, case)) in cases.into_iter().enumerate() {
        check_variant(variant, case, 200 + i);
    }
}

/// Long K as conv weight gradients have it, dW = dy_cnhw * cols^T with K = N*OH*OW: 32 3x3
/// filters over 128 MNIST images (K = 100,352), and LeNet's 6 5x5 filters over 16 images
/// (K = 12,544, M not a multiple of any block). llvmpipe stops an invocation after 65,535
/// loop iterations, so on lavapipe these pass only while the launcher splits K.
#[test]
fn matmul_long_k() {
    check(Case { form: MatmulForm::NT, m: 32, n: 9, k: 128 * 28 * 28, accumulate: false }, 300);
    check(Case { form: MatmulForm::NT, m: 6, n: 25, k: 16 * 28 * 28, accumulate: false }, 301);
}

/// The f32 matrix-vector product against the dense reference (form NT), K off the 4-wide
/// step, N off the workgroup.
#[test]
fn matvec_matches_reference() {
    for (i, (m, n, k)) in [(1, 1, 1), (1, 65, 7), (3, 130, 64), (2, 7, 4099), (5, 200, 301)].into_iter().enumerate() {
        let mut r = rng("matvec", i);
        let (a, b) = (dyadic(&mut r, m * k), dyadic(&mut r, n * k));
        let c = gpu().full(&[m * n], f32::NAN);
        kernels::matvec(gpu(), &upload(&a), &upload(&b), &c, m, n, k);
        let mut want = vec![0f32; m * n];
        reference::matmul(MatmulForm::NT, &a, &b, &mut want, m, n, k, false);
        assert_close("matvec", &(m, n, k), &read(&c), &want, Tol::EXACT);
    }
}

/// The CPU launcher's choice of block and lane grid (no adapter involved): the fewest loads,
/// every lane grid within the default limits, and the whole output covered.
#[test]
fn matmul_cpu_layout() {
    // A 300 x 784 weight gradient: rows of blocks cover 320 rows, not 512 as 8x8-lane groups do.
    let l = kernels::cpu_layout(MatmulVariant::Blocked, 300, 784, 128);
    assert_eq!(l.grid[1] * l.lanes[1] * 32, 320, "{l:?}");
    // Full 32x32 blocks take main_wide.
    assert_eq!(kernels::cpu_layout(MatmulVariant::Cpu, 1024, 1024, 1024).entry(), "main_wide");
    let mut rng = rng("matmul_cpu_layout", 0);
    for _ in 0..1000 {
        let (m, n, k) = (rng.random_range(1..5000), rng.random_range(1..5000), rng.random_range(1..5000));
        for variant in [MatmulVariant::Cpu, MatmulVariant::Blocked, MatmulVariant::Wide] {
            let l = kernels::cpu_layout(variant, m, n, k);
            let (rows, cols) = if l.entry() == "main_wide" { (32, 32) } else { (32, 16) };
            assert!(l.fits() && l.lanes.iter().product::<usize>() <= 64, "{m}x{n}x{k}: {l:?}");
            assert!(l.grid[0] * l.lanes[0] * cols >= n && l.grid[1] * l.lanes[1] * rows >= m, "{m}x{n}x{k}: {l:?}");
        }
    }
    // C [2, 65,535 x 256]: only 8 lanes along n fit the grid.
    let l = kernels::cpu_layout(MatmulVariant::Wide, 2, MAX_GROUPS * 256, 1);
    assert!(l.fits() && l.lanes[0] == 8, "{l:?}");
}

/// Every launch `aer tune` may cache (`MatmulConfig::candidates`: both CPU blocks, lane grids
/// and explicit split-K on CPU adapters, the tiled kernel's splits elsewhere) computes the
/// same product: an off-tile weight gradient accumulating, and a form-NT product whose k takes
/// up to 8 splits.
#[test]
fn matmul_tune_candidates() {
    let cpu = gpu().info.device_type == wgpu::DeviceType::Cpu;
    let cases = [Case { form: MatmulForm::TN, m: 70, n: 45, k: 33, accumulate: true }, Case { form: MatmulForm::NT, m: 9, n: 40, k: 2100, accumulate: false }];
    for (i, case) in cases.into_iter().enumerate() {
        let Case { form, m, n, k, accumulate } = case;
        let candidates = kernels::MatmulConfig::candidates(cpu, m, n, k);
        assert!(candidates.len() > 1 && candidates.iter().all(|c| c.valid(m, n)), "{candidates:?}");
        assert_eq!(candidates[0], kernels::MatmulConfig::default_for(if cpu { MatmulVariant::Cpu } else { MatmulVariant::Tiled }, m, n, k));
        let mut rng = rng("matmul_tune_candidates", i);
        let (a, b, c0) = (uniform(&mut rng, m * k, -1.0, 1.0), uniform(&mut rng, k * n, -1.0, 1.0), uniform(&mut rng, m * n, -1.0, 1.0));
        let mut want = c0.clone();
        reference::matmul(form, &a, &b, &mut want, m, n, k, accumulate);
        let (ta, tb) = (upload(&a), upload(&b));
        for config in candidates {
            let tc = upload(&c0);
            kernels::matmul_config(gpu(), config, form, &ta, &tb, &tc, m, n, k, accumulate);
            assert_close(&format!("matmul ({config:?}) c"), &case, &read(&tc), &want, tol(k, &a, &b));
        }
    }
    // What a cached table may hold but no launch can run is refused before launching.
    use kernels::MatmulConfig;
    assert!(!MatmulConfig { kernel: MatmulVariant::Wide, lanes: [32, 16, 1], splits: 0 }.valid(100, 100));
    assert!(!MatmulConfig { kernel: MatmulVariant::Tiled, lanes: [8, 8, 1], splits: 0 }.valid(100, 100));
    assert!(!MatmulConfig { kernel: MatmulVariant::Cpu, lanes: [8, 8, 1], splits: 0 }.valid(100, 100));
    assert!(!MatmulConfig { kernel: MatmulVariant::Blocked, lanes: [1, 1, 1], splits: 0 }.valid(1, MAX_GROUPS * 16 + 1));
}
