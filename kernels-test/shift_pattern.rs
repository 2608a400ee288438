//! shift_pattern.wgsl against `reference::shift_pattern`: stripes, dotted lines and zigzags
//! on image batches of every shape; determinism and severity 0.

use crate::common::*;
use aer::kernels::{self, Pattern};
use aer::reference::shift_pattern as reference;

fn run(pattern: Pattern, x: &[f32], shape: [usize; 4], k: u32, seed: u32) -> Vec<f32> {
    let y = gpu().empty(&[x.len()]);
    kernels::shift_pattern(gpu(), pattern, &upload(x), &y, shape, k, seed);
    read(&y)
}

#[test]
fn shift_pattern_matches_reference() {
    for (i, &shape) in image_shapes("shift_pattern").iter().enumerate() {
        let x = images(&mut rng("shift_pattern", i), shape.iter().product());
        let seed = 5 + i as u32;
        for (pattern, k) in [(Pattern::Stripe, 7), (Pattern::Stripe, 1), (Pattern::DottedLine, 1), (Pattern::DottedLine, 5), (Pattern::Zigzag, 1), (Pattern::Zigzag, 5)] {
            // Below 12 columns MNIST-C's closing point b / (2 (d - max_c)) of a zigzag can be
            // arbitrarily high, so the rounding of the angle decides whole columns.
            if pattern == Pattern::Zigzag && shape[3] < 12 {
                continue;
            }
            let case = (pattern, k, shape, seed);
            let got = run(pattern, &x, shape, k, seed);
            let want = reference::shift_pattern(pattern, &x, shape, k, seed);
            if pattern == Pattern::Stripe {
                // 1 - x, one rounding on both sides.
                assert_close("stripe", &case, &got, &want, Tol::EXACT);
            } else {
                // log, atan, sin and cos in f32 against f64 (WGSL allows sin and cos an absolute
                // error of 2^-11, which SwiftShader uses; lavapipe is within ~1e-5); a pixel at a
                // segment's first or last column may fall the other side of floor or ceil, and
                // steep segments (narrow images) magnify the angle's rounding.
                // Zigzags turn at every tooth, so they have many end pixels: up to 6% move on
                // SwiftShader (lavapipe stays under 1%).
                let share = if pattern == Pattern::Zigzag { 0.06 } else { 0.01 };
                assert_mostly_close("shift_pattern", &case, &got, &want, Tol { abs: 2e-3, rel: 0.0 }, 1.0, share);
            }
        }
    }
}

#[test]
fn shift_pattern_is_deterministic_and_severity_0_is_the_identity() {
    let shape = [6, 1, 28, 28];
    let x = images(&mut rng("shift_pattern_seed", 0), shape.iter().product());
    for name in ["stripe", "dotted_line", "zigzag"] {
        let corrupt = |severity: u32, seed: u32| read(&pollster::block_on(aer::shift::corrupt(gpu(), name, severity, seed, &gpu().upload(&x, &shape))).unwrap());
        assert_eq!(corrupt(2, 1), corrupt(2, 1), "{name}: same seed, other bits");
        if name != "stripe" {
            assert_ne!(corrupt(2, 1), corrupt(2, 2), "{name}: another seed, the same lines");
        }
        assert_eq!(corrupt(0, 1), x, "{name}: severity 0 changed the images");
        assert_ne!(corrupt(1, 1), x, "{name}: severity 1 left the images alone");
    }
}
