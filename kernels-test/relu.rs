//! relu.wgsl against `reference::relu`.

use crate::common::*;
use aer::kernels;
use aer::reference::relu as reference;
use rand::rngs::StdRng;
use rand::Rng;

/// Uniform in [-1, 1) with about one value in eight exactly +0 or -0, the ReLU boundary.
fn with_zeros(rng: &mut StdRng, n: usize) -> Vec<f32> {
    let mut v = uniform(rng, n, -1.0, 1.0);
    for x in v.iter_mut() {
        if rng.random_range(0..8) == 0 {
            *x = if rng.random() { 0.0 } else { -0.0 };
        }
    }
    v
}

#[test]
fn relu_forward_matches_reference() {
    for (i, n) in sizes_1d("relu_forward").into_iter().enumerate() {
        let x = with_zeros(&mut rng("relu_forward", i), n);
        let y = gpu().empty(&[n]);
        kernels::relu_forward(gpu(), &upload(&x), &y);
        // max() is exact; +0 and -0 compare equal.
        assert_close("relu y", &format!("n = {n}"), &read(&y), &reference::relu_forward(&x), Tol::EXACT);
    }
}

#[test]
fn relu_backward_matches_reference() {
    for (i, n) in sizes_1d("relu_backward").into_iter().enumerate() {
        let mut r = rng("relu_backward", i);
        let y = reference::relu_forward(&with_zeros(&mut r, n));
        let dy = uniform(&mut r, n, -1.0, 1.0);
        let t = upload(&dy);
        kernels::relu_backward(gpu(), &upload(&y), &t);
        assert_close("relu dy", &format!("n = {n}"), &read(&t), &reference::relu_backward(&y, &dy), Tol::EXACT);
    }
}
