//! augment.wgsl against `reference::augment`: random crops with zero padding and horizontal
//! flips, per example, on image batches of every size up to a maximal binding.

use crate::common::*;
use aer::kernels;
use aer::reference::augment as reference;
use rand::Rng;

/// (n, c, h, w, pad, flip): single pixels, MNIST and CIFAR batches, off-workgroup shapes,
/// pads past the image, random shapes, a grid that spills into y and one maximal binding.
fn cases() -> Vec<(usize, usize, usize, usize, usize, bool)> {
    let mut v = vec![(1, 1, 1, 1, 0, false), (1, 1, 1, 1, 1, true), (100, 1, 28, 28, 2, false), (128, 3, 32, 32, 4, true), (3, 3, 5, 7, 3, true), (2, 1, 3, 3, 5, true), (7, 2, 16, 16, 0, true)];
    let mut r = rng("augment_shape", 0);
    v.extend((0..20).map(|_| (r.random_range(1..64), r.random_range(1..4), r.random_range(1..40), r.random_range(1..40), r.random_range(0..7), r.random())));
    v.extend([(16_385, 1, 32, 32, 4, true), (MAX_BINDING_F32 / 1024, 1, 32, 32, 4, true)]);
    v
}

#[test]
fn augment_matches_reference() {
    for (i, &(n, c, h, w, pad, flip)) in cases().iter().enumerate() {
        let x = uniform(&mut rng("augment", i), n * c * h * w, -1.0, 1.0);
        let y = gpu().empty(&[n * c * h * w]);
        let seed = 77 + i as u32;
        kernels::augment(gpu(), &upload(&x), &y, [n, c, h, w], kernels::Augment { crop: pad, flip }, seed);
        let got = read(&y);
        let case = (n, c, h, w, pad, flip, seed);
        // Data movement: every value is copied or 0.
        assert_close("augment y", &case, &got, &reference::augment(&x, [n, c, h, w], pad, flip, seed), Tol::EXACT);
        if pad == 0 && !flip {
            assert_eq!(got, x, "no crop and no flip copies the batch; case {case:?}");
        }
    }
}

/// The draws: every shift in [-pad, pad] about equally often, flips about half the time (only
/// with flip on), and other seeds draw otherwise.
#[test]
fn augment_draws_are_uniform() {
    let (pad, draws) = (4usize, 90_000u32);
    let mut rows = [0u32; 9];
    let mut cols = [0u32; 9];
    let mut flips = 0;
    for e in 0..draws {
        let (dy, dx, f) = reference::augment_draws(5, e, pad, true);
        rows[(dy + 4) as usize] += 1;
        cols[(dx + 4) as usize] += 1;
        flips += f as u32;
        assert!(!reference::augment_draws(5, e, pad, false).2, "no flips without flip");
    }
    for count in rows.iter().chain(&cols) {
        assert!((*count as f64 / draws as f64 - 1.0 / 9.0).abs() < 0.005, "shift counts {rows:?} {cols:?}");
    }
    assert!((flips as f64 / draws as f64 - 0.5).abs() < 0.01, "{flips} flips in {draws}");
    let x: Vec<f32> = (0..64 * 64).map(|v| v as f32).collect();
    assert_ne!(reference::augment(&x, [4, 1, 32, 32], 4, true, 1), reference::augment(&x, [4, 1, 32, 32], 4, true, 2));
}
