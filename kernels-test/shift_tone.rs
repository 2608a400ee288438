//! shift_tone.wgsl against `reference::shift_tone`: brightness and contrast on image batches
//! of every shape; severity 0.

use crate::common::*;
use aer::kernels::{self, Tone};
use aer::reference::shift_tone as reference;

#[test]
fn shift_tone_matches_reference() {
    for (i, &shape) in image_shapes("shift_tone").iter().enumerate() {
        let x = images(&mut rng("shift_tone", i), shape.iter().product());
        for (tone, a) in [(Tone::Brightness, 0.05), (Tone::Brightness, 0.5), (Tone::Contrast, 0.75), (Tone::Contrast, 0.05)] {
            let y = gpu().empty(&[x.len()]);
            kernels::shift_tone(gpu(), tone, &upload(&x), &y, shape, a);
            let case = (tone, a, shape);
            // Brightness: an add, a division (2.5 ULP) and a product; contrast: a mean of up to
            // 1,600 values summed in f32 in another order (relative error <= 1600 u).
            let tol = if tone == Tone::Brightness { Tol { abs: 3e-7, rel: 1e-6 } } else { Tol { abs: 2e-5, rel: 0.0 } };
            assert_close("shift_tone", &case, &read(&y), &reference::shift_tone(tone, &x, shape, a), tol);
        }
    }
}

#[test]
fn shift_tone_severity_0_is_the_identity() {
    for shape in [[3, 1, 28, 28], [3, 3, 32, 32]] {
        let x = images(&mut rng("shift_tone_identity", shape[1]), shape.iter().product());
        for name in ["brightness", "contrast"] {
            let y = read(&pollster::block_on(aer::shift::corrupt(gpu(), name, 0, 1, &gpu().upload(&x, &shape))).unwrap());
            assert_eq!(y, x, "{name} at severity 0 changed the images");
        }
    }
}
