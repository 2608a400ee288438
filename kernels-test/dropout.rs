//! dropout.wgsl against `reference::dropout`: the mask each seed draws, its rate, and the
//! backward pass drawing the same mask.

use crate::common::*;
use aer::kernels;
use aer::reference::dropout as reference;

#[test]
fn dropout_matches_reference() {
    for (i, n) in sizes_1d("dropout").into_iter().enumerate() {
        let mut r = rng("dropout", i);
        let x = uniform(&mut r, n, -1.0, 1.0);
        let rate = [0.0, 0.1, 0.5, 0.9][i % 4];
        let seed = 1000 + i as u32;
        let y = gpu().empty(&[n]);
        kernels::dropout(gpu(), &upload(&x), &y, rate, seed);
        let got = read(&y);
        // One division on both sides (WGSL's within 2.5 ULP).
        assert_close("dropout y", &(n, rate, seed), &got, &reference::dropout(&x, rate, seed), Tol { abs: 0.0, rel: 3e-7 });
        if n >= 65_537 {
            let dropped = got.iter().filter(|v| **v == 0.0).count() as f64 / n as f64;
            assert!((dropped - rate as f64).abs() < 0.01, "n = {n}: dropped {dropped}, rate {rate}");
        }
    }
    // Another seed, another mask.
    let ones = vec![1.0f32; 4096];
    assert_ne!(reference::dropout(&ones, 0.5, 1), reference::dropout(&ones, 0.5, 2));
}
