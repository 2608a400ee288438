//! shift_blur.wgsl (convolve, motion_blur, zoom_blur, glass_shuffle) against
//! `reference::shift_blur`, through the blurs of `aer::shift::spatial` at every severity.

use crate::common::*;

#[test]
fn glass_blur_matches_reference() {
    // Gaussian sums of up to 13 taps; the shuffle's draws are integers, exact on both sides.
    check_spatial("glass_blur", 2e-6, 0.0, true);
}

#[test]
fn motion_blur_matches_reference() {
    check_spatial("motion_blur", 2e-6, 0.0, true);
}

#[test]
fn defocus_blur_matches_reference() {
    check_spatial("defocus_blur", 2e-6, 0.0, false);
}

#[test]
fn zoom_blur_matches_reference() {
    check_spatial("zoom_blur", 2e-6, 0.0, false);
}
