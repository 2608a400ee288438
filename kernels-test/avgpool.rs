//! avgpool.wgsl against `reference::avgpool`: global average pooling and its backward pass.

use crate::common::*;
use aer::kernels;
use aer::reference::avgpool as reference;
use rand::Rng;

/// (planes, hw): single values, ResNet's 8x8 and 4x4 maps, off-workgroup plane counts, and
/// one maximal binding of 2-value planes, whose grids spill into y.
fn cases() -> Vec<(usize, usize)> {
    let mut v = vec![(1, 1), (1, 64), (255, 49), (256, 16), (257, 64), (64, 1024)];
    let mut r = rng("avgpool_shape", 0);
    v.extend((0..20).map(|_| (r.random_range(1..3000), r.random_range(1..200))));
    v.push((MAX_BINDING_F32 / 2, 2));
    v
}

#[test]
fn global_avgpool_matches_reference() {
    for (i, &(planes, hw)) in cases().iter().enumerate() {
        let mut r = rng("global_avgpool", i);
        // Multiples of 1/64: the sums are exact in any order, so only the division rounds
        // (WGSL's f32 division is within 2.5 ULP).
        let x = dyadic(&mut r, planes * hw);
        let y = gpu().empty(&[planes]);
        kernels::global_avgpool_forward(gpu(), &upload(&x), &y, planes, hw);
        let tol = Tol { abs: 0.0, rel: 3e-7 };
        assert_close("avgpool y", &(planes, hw), &read(&y), &reference::global_avgpool_forward(&x, hw), tol);
        let dy = dyadic(&mut r, planes);
        let dx = gpu().empty(&[planes * hw]);
        kernels::global_avgpool_backward(gpu(), &upload(&dy), &dx, planes, hw);
        assert_close("avgpool dx", &(planes, hw), &read(&dx), &reference::global_avgpool_backward(&dy, hw), tol);
    }
}
