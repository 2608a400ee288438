//! shift_block.wgsl against `reference::shift_block`: pixelate (PIL's BOX resize down and up)
//! and JPEG (8x8 DCT, quantisation, inverse) on image batches of every shape; severity 0.

use crate::common::*;
use aer::kernels;
use aer::reference::shift_block as reference;

#[test]
fn pixelate_matches_reference() {
    for (i, &[n, c, h, w]) in image_shapes("pixelate").iter().enumerate() {
        let x = images(&mut rng("pixelate", i), n * c * h * w);
        for f in [0.95, 0.65, 0.25] {
            let small = [((h as f64 * f) as usize).max(1), ((w as f64 * f) as usize).max(1)];
            let y = gpu().empty(&[x.len()]);
            kernels::pixelate(gpu(), &upload(&x), &y, [n, c, h, w], small);
            // A sum of at most 16 values in another order, and one division.
            assert_close("pixelate", &([n, c, h, w], small), &read(&y), &reference::pixelate(&x, [n, c, h, w], small), Tol { abs: 1e-6, rel: 1e-6 });
        }
    }
}

/// PIL's BOX windows: shrinking 32 to 30 averages one or two pixels, halving averages pairs,
/// and every window lies inside the image.
#[test]
fn box_windows_follow_pil() {
    assert_eq!(kernels::box_windows(4, 2), vec![(0, 2), (2, 2)]);
    assert_eq!(kernels::box_windows(2, 4), vec![(0, 1), (0, 1), (1, 1), (1, 1)]);
    for (from, to) in [(32, 30), (32, 20), (28, 7), (5, 3), (1, 1), (40, 1)] {
        for (o, (start, count)) in kernels::box_windows(from, to).into_iter().enumerate() {
            assert!(count >= 1 && (start + count) as usize <= from, "{from} -> {to}: window {o} is ({start}, {count})");
        }
    }
}

#[test]
fn jpeg_matches_reference() {
    for (i, &shape) in image_shapes("jpeg").iter().enumerate() {
        let x = images(&mut rng("jpeg", i), shape.iter().product());
        for quality in [80, 40, 10] {
            let y = gpu().empty(&[x.len()]);
            kernels::jpeg(gpu(), &upload(&x), &y, shape, quality);
            // The DCT's sums in f32 against f64: a coefficient within a few ULP of a multiple
            // of half its step, or a sample of half an integer, may round the other way; that
            // moves a few pixels of its block by at most about step / 8.
            assert_mostly_close("jpeg", &(shape, quality), &read(&y), &reference::jpeg(&x, shape, quality), Tol { abs: 1e-6, rel: 0.0 }, 0.2, 0.01);
        }
    }
}

/// JPEG keeps a smooth image nearly as it is at quality 80 and loses more at 10; the tables
/// are libjpeg's (quality 50 is the standard table itself).
#[test]
fn jpeg_degrades_with_quality() {
    let t = kernels::jpeg_tables(50);
    assert_eq!((t[0], t[1], t[63], t[64], t[127]), (16.0, 11.0, 99.0, 17.0, 99.0));
    assert_eq!(kernels::jpeg_tables(100)[..64], [1.0; 64]);
    let shape = [1, 3, 32, 32];
    let x: Vec<f32> = (0..3 * 1024).map(|i| (((i % 32) + (i / 32 % 32)) as f32 / 62.0 * 255.0).round() / 255.0).collect();
    let err = |q: u32| reference::jpeg(&x, shape, q).iter().zip(&x).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / x.len() as f64;
    assert!(err(80) < 0.01 && err(80) < err(10), "mean error {} at quality 80, {} at 10", err(80), err(10));
}

#[test]
fn block_severity_0_is_the_identity() {
    let shape = [2, 3, 32, 32];
    let x = images(&mut rng("shift_block_identity", 0), shape.iter().product());
    for name in ["pixelate", "jpeg"] {
        let y = read(&pollster::block_on(aer::shift::corrupt(gpu(), name, 0, 1, &gpu().upload(&x, &shape))).unwrap());
        assert_eq!(y, x, "{name} at severity 0 changed the images");
    }
}

