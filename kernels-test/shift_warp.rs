//! shift_warp.wgsl (affine_warp, displace) against `reference::shift_warp`, through the
//! geometric corruptions of `aer::shift::spatial` at every severity, and a batch whose grid
//! spills into y.

use crate::common::*;

#[test]
fn shear_scale_rotate_translate_match_reference() {
    check_spatial("shear", 1e-5, 0.0, true);
    check_spatial("scale", 1e-5, 0.0, false);
    check_spatial("rotate", 1e-5, 0.0, true);
    check_spatial("translate", 1e-5, 0.0, true);
}

#[test]
fn elastic_matches_reference() {
    // The displacement field is a Gaussian sum of up to 39 taps, then sampled bilinearly.
    check_spatial("elastic", 1e-5, 0.0, true);
}

#[test]
fn translate_spills_into_y() {
    let shape = [SPILL_1D.div_ceil(1024), 1, 32, 32];
    let x = uniform(&mut rng("translate_spill", 0), shape.iter().product(), 0.0, 1.0);
    let got = read(&pollster::block_on(aer::shift::spatial::apply(gpu(), "translate", 3, 5, &gpu().upload(&x, &shape))).unwrap().unwrap());
    let want = aer::shift::spatial::reference("translate", 3, 5, &x, shape).unwrap();
    // Whole-pixel shifts: every value is copied or 0.
    assert_close("translate y", &shape, &got, &want, Tol::EXACT);
}
