//! augmix.wgsl against `reference::augmix`: AugMix's chains and mixture on grey and colour
//! batches (with and without the geometric operations), one pixel to CIFAR size and off the
//! workgroup size; the same seed the same bits; and the Dirichlet and Beta draws.

use crate::common::*;
use aer::kernels::{self, AugmixChains};
use aer::reference::augmix as reference;
use rand::Rng;

/// (shape, chains): single pixels, MNIST and CIFAR batches, fixed and random depths, the
/// planes of 28x28 and 32x32 past one 256-thread workgroup, and random shapes.
fn cases() -> Vec<([usize; 4], AugmixChains)> {
    let chains = |width, depth, severity, geometric| AugmixChains { width, depth, severity, geometric };
    let mut v = vec![
        ([1, 1, 1, 1], chains(3, 0, 3.0, false)),
        ([1, 3, 1, 1], chains(1, 1, 3.0, true)),
        ([20, 1, 28, 28], chains(3, 0, 3.0, false)),
        ([8, 3, 32, 32], chains(3, 0, 3.0, true)),
        ([5, 3, 5, 7], chains(2, 3, 10.0, true)),
        ([3, 1, 17, 3], chains(4, 2, 1.0, false)),
    ];
    let mut r = rng("augmix_shape", 0);
    v.extend((0..6).map(|_| ([r.random_range(1..9), [1, 3][r.random_range(0..2)], r.random_range(1..40), r.random_range(1..40)], chains(r.random_range(1..5), r.random_range(0..4), r.random_range(1.0..10.0), r.random()))));
    v
}

#[test]
fn augmix_matches_reference() {
    for (i, &(shape, chains)) in cases().iter().enumerate() {
        let [n, ..] = shape;
        let x = images(&mut rng("augmix", i), shape.iter().product());
        let seed = 31 + i as u32;
        let weights = reference::mixing_weights(seed, n, chains.width, 1.0);
        let (xt, wt) = (upload(&x), upload(&weights));
        let run = |seed| {
            let y = gpu().empty(&[x.len()]);
            kernels::augmix(gpu(), &xt, &y, &wt, shape, &chains, seed);
            read(&y)
        };
        let got = run(seed);
        let case = (shape, chains, seed);
        // Tone operations are exact 8-bit maps; the mixture rounds a few products and sums of
        // values in [0, 1]; geometric steps take bilinear weights from f32 coordinates (fused
        // or not), and a later tone step may move a value within rounding of an 8-bit
        // level by one level, or across solarize's threshold (a few values in a thousand).
        let want = reference::augmix(&x, shape, &weights, &chains, seed);
        if chains.geometric {
            assert_mostly_close("augmix y", &case, &got, &want, Tol { abs: 1e-5, rel: 0.0 }, 1.0, 0.01);
        } else {
            assert_close("augmix y", &case, &got, &want, Tol { abs: 1e-6, rel: 0.0 });
        }
        assert!(got.iter().all(|v| (-1e-6..=1.0 + 1e-6).contains(v)), "augmix leaves [0, 1]; case {case:?}");
        assert_eq!(got, run(seed), "the same seed gives the same bits; case {case:?}");
        if shape[2] * shape[3] >= 64 {
            assert_ne!(got, run(seed + 1), "another seed draws otherwise; case {case:?}");
        }
    }
}

/// Each operation alone on a known plane: autocontrast stretches to [0, 1], equalize spreads
/// the levels, solarize and posterize act on 8-bit levels, a translation moves whole pixels.
#[test]
fn augmix_operations_do_what_they_say() {
    let plane: Vec<f32> = (0..16).map(|v| (64 + 8 * v) as f32 / 255.0).collect();
    let stretched = reference::augmix_op(&plane, [4, 4], 0, 1.0, 1.0);
    assert_eq!((stretched[0], stretched[15]), (0.0, 1.0), "autocontrast: {stretched:?}");
    // Equalize (PIL: a no-op below 256 pixels): 16 levels of 64 pixels each spread out.
    let big: Vec<f32> = (0..1024).map(|j| (64 + 8 * (j / 64)) as f32 / 255.0).collect();
    let equalized = reference::augmix_op(&big, [32, 32], 1, 1.0, 1.0);
    assert_eq!(reference::augmix_op(&plane, [4, 4], 1, 1.0, 1.0), plane, "equalize of 16 pixels");
    assert!(equalized[0] == 0.0 && equalized[1023] > 0.9 && equalized.windows(2).all(|p| p[0] <= p[1]) && equalized[64] > equalized[0], "equalize: {equalized:?}");
    // Level 10: threshold 0, every value inverted; posterize at level 3 keeps the top 3 bits.
    let solarized = reference::augmix_op(&plane, [4, 4], 3, 10.0, 1.0);
    assert!(solarized.iter().zip(&plane).all(|(s, v)| (s - (1.0 - v)).abs() < 1e-6), "solarize: {solarized:?}");
    let posterized = reference::augmix_op(&plane, [4, 4], 2, 3.0, 1.0);
    assert!(posterized.iter().all(|v| ((v * 255.0).round() as u32) % 32 == 0), "posterize: {posterized:?}");
    // Level 10 on width 6: a shift of 2 columns.
    let row: Vec<f32> = (1..=6).map(|v| v as f32 / 10.0).collect();
    let moved = reference::augmix_op(&row, [1, 6], 7, 10.0, 1.0);
    assert_eq!(moved, [0.3, 0.4, 0.5, 0.6, 0.0, 0.0], "translate x");
}

/// Dirichlet(1) weights sum to 1 and average 1 / width each; Beta(1, 1) averages 1/2 and is
/// spread over [0, 1].
#[test]
fn augmix_mixing_weights_follow_dirichlet_and_beta() {
    let (n, width) = (4000, 3);
    for alpha in [1.0f32, 0.5, 2.0] {
        let w = reference::mixing_weights(9, n, width, alpha);
        let mut means = [0f64; 4];
        for row in w.chunks(width + 1) {
            let s: f32 = row[..width].iter().sum();
            assert!((s - 1.0).abs() < 1e-5 && row.iter().all(|v| (0.0..=1.0).contains(v)), "a row {row:?}");
            for (m, v) in means.iter_mut().zip(row) {
                *m += *v as f64 / n as f64;
            }
        }
        for k in 0..width {
            assert!((means[k] - 1.0 / 3.0).abs() < 0.02, "alpha {alpha}: chain weights average {means:?}");
        }
        assert!((means[width] - 0.5).abs() < 0.02, "alpha {alpha}: m averages {}", means[width]);
        let var: f64 = w.chunks(width + 1).map(|r| (r[width] as f64 - 0.5).powi(2)).sum::<f64>() / n as f64;
        // Beta(a, a) has variance 1 / (4 (2a + 1)).
        let want = 1.0 / (4.0 * (2.0 * alpha as f64 + 1.0));
        assert!((var - want).abs() < 0.15 * want, "alpha {alpha}: Beta variance {var}, want {want}");
    }
}
