//! shift_edges.wgsl against `reference::shift_edges`: Canny edges (smoothing, Sobel,
//! non-maximum suppression, double threshold, hysteresis steps, blend) on image batches of
//! every shape; severity 0.

use crate::common::*;
use aer::kernels::{self, CANNY_HIGH, CANNY_LOW};
use aer::reference::shift_edges as reference;

#[test]
fn canny_edges_matches_reference() {
    let mut edges_seen = 0;
    for (i, &shape) in image_shapes("shift_edges").iter().enumerate() {
        let x = images(&mut rng("shift_edges", i), shape.iter().product());
        for a in [1.0, 0.4] {
            let y = gpu().empty(&[x.len()]);
            kernels::canny_edges(gpu(), &upload(&x), &y, shape, CANNY_LOW, CANNY_HIGH, a);
            let (got, want) = (read(&y), reference::canny_edges(&x, shape, CANNY_LOW, CANNY_HIGH, a));
            edges_seen += want.iter().filter(|&&v| a == 1.0 && v == 1.0).count();
            // Smoothing weights from f32 exp and sums in f32: a magnitude within a few ULP of a
            // threshold or of its neighbour's may decide the other way, and hysteresis carries
            // that along a chain; elsewhere the blend's few roundings.
            assert_mostly_close("canny_edges", &(shape, a), &got, &want, Tol { abs: 1e-6, rel: 1e-6 }, 1.0, 0.01);
        }
    }
    assert!(edges_seen > 100, "the cases found only {edges_seen} edge pixels");
}

#[test]
fn canny_edges_severity_0_is_the_identity() {
    let shape = [3, 1, 28, 28];
    let x = images(&mut rng("shift_edges_identity", 0), shape.iter().product());
    let y = read(&pollster::block_on(aer::shift::corrupt(gpu(), "canny_edges", 0, 1, &gpu().upload(&x, &shape))).unwrap());
    assert_eq!(y, x, "canny_edges at severity 0 changed the images");
}
