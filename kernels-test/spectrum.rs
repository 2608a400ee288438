//! spectrum.wgsl against `reference::spectrum`: the mean 2-D DFT magnitude of image batches
//! from one pixel to CIFAR batches, off the workgroup size and with a grid that spills into
//! y; a constant image's energy all at frequency (0, 0); a pure cosine's at its frequency.

use crate::common::*;
use aer::kernels;
use aer::reference::spectrum as reference;

fn run(x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let y = gpu().empty(&[shape[2] * shape[3]]);
    kernels::spectrum(gpu(), &upload(x), &y, shape);
    read(&y)
}

#[test]
fn spectrum_matches_reference() {
    let mut shapes = image_shapes("spectrum");
    // 65,536 x 32 planes of one row: the 1-D grids spill into y.
    shapes.push([65_536, 1, 1, 33]);
    for (i, shape) in shapes.into_iter().enumerate() {
        let [_, _, h, w] = shape;
        // The spilling batch repeats 16 planes, so its mean is theirs.
        let x = if shape[0] > 1000 { images(&mut rng("spectrum", i), 16 * w).repeat(shape[0] / 16) } else { images(&mut rng("spectrum", i), shape.iter().product()) };
        let got = run(&x, shape);
        // Each output sums h w products of values in [0, 1] with f32 twiddles, rounded along
        // a row and then a column (about (h + w) u relative to the sum of magnitudes, which is
        // at most h w); the mean over planes adds a rounding per plane.
        let tol = Tol { abs: 1e-6 * (h * w) as f64, rel: 1e-5 };
        let case = (shape, i);
        if shape[0] > 1000 {
            // A mean of 65,536 f32 values summed in order: a relative error up to n u.
            assert_close("spectrum", &case, &got, &reference::spectrum(&x[..16 * w], [16, 1, 1, w]), Tol { abs: 1e-5, rel: 4e-3 });
        } else {
            assert_close("spectrum", &case, &got, &reference::spectrum(&x, shape), tol);
        }
        assert_eq!(got, run(&x, shape), "the same batch gives the same bits; {case:?}");
    }
}

/// A constant image has all its energy at frequency (0, 0): |F(0, 0)| = h w times the value;
/// a cosine along the rows at frequency 3 puts h w / 2 at (0, 3) and (0, w - 3).
#[test]
fn spectrum_of_constant_and_cosine_images() {
    for [n, c, h, w] in [[2, 1, 28, 28], [3, 3, 32, 32], [1, 1, 5, 7]] {
        let x = vec![0.5f32; n * c * h * w];
        let s = run(&x, [n, c, h, w]);
        assert!((s[0] - 0.5 * (h * w) as f32).abs() < 1e-3 * (h * w) as f32, "F(0, 0) = {} for {h}x{w}", s[0]);
        assert!(s[1..].iter().all(|v| v.abs() < 1e-4 * (h * w) as f32), "a constant image has energy only at (0, 0): {:?}", &s[1..]);
        let cosine: Vec<f32> = (0..n * c * h * w).map(|i| (std::f64::consts::TAU * 3.0 * (i % w) as f64 / w as f64).cos() as f32).collect();
        let s = run(&cosine, [n, c, h, w]);
        let half = (h * w) as f32 / 2.0;
        for (j, v) in s.iter().enumerate() {
            let want = if j == 3 || j == w - 3 { half } else { 0.0 };
            assert!((v - want).abs() < 1e-3 * half, "{h}x{w} cosine: |F| at {j} is {v}, want {want}");
        }
    }
}
