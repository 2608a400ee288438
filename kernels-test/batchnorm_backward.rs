//! batchnorm_backward.wgsl against `reference::batchnorm_backward`.

use crate::batchnorm::cases;
use crate::common::*;
use aer::kernels::{self, NormGrads};
use aer::reference::batchnorm_backward as reference;

#[test]
fn batchnorm_backward_matches_reference() {
    for (i, s) in cases().into_iter().enumerate() {
        let mut r = rng("batchnorm_backward", i);
        let len = s.n * s.c * s.hw;
        let x = uniform(&mut r, len, -2.0, 2.0);
        let dy = uniform(&mut r, len, -1.0, 1.0);
        let mean = uniform(&mut r, s.c, -0.5, 0.5);
        let invstd = uniform(&mut r, s.c, 0.5, 2.0);
        let stats: Vec<f32> = mean.iter().chain(&invstd).copied().collect();
        let gamma = uniform(&mut r, s.c, -2.0, 2.0);
        let (xt, dyt, st, gt) = (upload(&x), upload(&dy), upload(&stats), upload(&gamma));
        let (sums, dx) = (gpu().empty(&[2 * s.c]), gpu().empty(&[len]));
        let t = NormGrads { x: &xt, dy: &dyt, stats: &st, gamma: &gt, sums: &sums, dx: &dx };
        kernels::bn_backward_reduce(gpu(), s, &t);
        let want = reference::bn_backward_reduce(&x, &dy, &stats, s.c, s.hw);
        // Sums of up to 32k terms of magnitude up to ~5 in another order.
        let m = (s.n * s.hw) as f64;
        assert_close("bn dgamma, dbeta", &s, &read(&sums), &want, Tol { abs: 2e-6 * m.sqrt() * 5.0, rel: 1e-5 });
        // dx from the reference's sums, so that only this kernel's rounding counts.
        let ws = upload(&want);
        let t = NormGrads { sums: &ws, ..t };
        kernels::bn_backward_dx(gpu(), s, &t);
        let wdx = reference::bn_backward_dx(&x, &dy, &stats, &gamma, &want, s.c, s.hw);
        // m dy - dbeta - xhat dgamma cancels: its terms reach ~m * 10, rounded at 2^-24 each.
        let scale = (2.0 * 4.0 / m) * (m * 1.0 + want.iter().map(|v| v.abs() as f64).fold(0.0, f64::max) * 5.0);
        assert_close("bn dx", &s, &read(&dx), &wdx, Tol { abs: 4e-7 * scale, rel: 1e-5 });
    }
}
