//! batchnorm.wgsl against `reference::batchnorm`: batch statistics, scale and shift, running
//! statistics (training) and the same from the running statistics (evaluation).

use crate::common::*;
use aer::kernels::{self, NormShape, NormTensors};
use aer::reference::batchnorm as reference;
use rand::Rng;

/// (n, c, hw): BatchNorm1d (hw 1), one example (the variance of hw values), one value per
/// channel (unbiased variance undefined: kept biased), CIFAR-sized maps, channel counts around
/// the workgroup, and many channels.
pub(crate) fn cases() -> Vec<NormShape> {
    let mut v = vec![(1, 1, 1), (2, 3, 1), (1, 4, 9), (128, 16, 1), (8, 16, 32 * 32), (3, 257, 5), (2, 4096, 4)];
    let mut r = rng("batchnorm_shape", 0);
    v.extend((0..16).map(|_| (r.random_range(1..40), r.random_range(1..70), r.random_range(1..150))));
    v.into_iter().map(|(n, c, hw)| NormShape { n, c, hw }).collect()
}

#[test]
fn batchnorm_matches_reference() {
    for (i, s) in cases().into_iter().enumerate() {
        let mut r = rng("batchnorm", i);
        // An offset per channel: the two-pass variance must not lose the spread to it.
        let x: Vec<f32> = (0..s.n * s.c * s.hw).map(|k| 3.0 * ((k / s.hw) % s.c) as f32 + r.random_range(-1.0..1.0f32)).collect();
        let gamma = uniform(&mut r, s.c, -2.0, 2.0);
        let beta = uniform(&mut r, s.c, -1.0, 1.0);
        let rm = uniform(&mut r, s.c, -1.0, 1.0);
        let rv = uniform(&mut r, s.c, 0.1, 2.0);
        let (g, b, m, v) = (upload(&gamma), upload(&beta), upload(&rm), upload(&rv));
        let (stats, affine) = (gpu().empty(&[2 * s.c]), gpu().empty(&[2 * s.c]));
        let t = NormTensors { gamma: &g, beta: &b, running_mean: &m, running_var: &v, stats: &stats, scale_shift: &affine };
        let xt = upload(&x);
        kernels::bn_train_stats(gpu(), s, &xt, &t, 0.1, 1e-5);
        let (ws, wa, wm, wv) = reference::bn_train_stats(&x, s.c, s.hw, &gamma, &beta, (&rm, &rv), 0.1, 1e-5);
        // Sums of up to 32k values in another order, and an inverse square root (a few ULP).
        let tol = Tol { abs: 2e-6, rel: 2e-5 };
        assert_close("bn stats", &s, &read(&stats), &ws, tol);
        assert_close("bn scale, shift", &s, &read(&affine), &wa, Tol { abs: 1e-5, rel: 2e-5 });
        assert_close("bn running mean", &s, &read(&m), &wm, tol);
        assert_close("bn running var", &s, &read(&v), &wv, tol);

        kernels::bn_eval_affine(gpu(), s, &xt, &t, 1e-5);
        let (ws, wa) = reference::bn_eval_affine(&gamma, &beta, &wm, &wv, 1e-5);
        assert_close("bn eval stats", &s, &read(&stats), &ws, tol);
        assert_close("bn eval scale, shift", &s, &read(&affine), &wa, Tol { abs: 1e-5, rel: 2e-5 });
    }
}
