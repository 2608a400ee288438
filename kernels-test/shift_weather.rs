//! shift_weather.wgsl (random_field, plasma, example_range, fog_mix, threshold_field,
//! spatter_mix, snow_mix, frost) against `reference::shift_weather`, through the weather
//! corruptions of `aer::shift::spatial` at every severity.

use crate::common::*;
use aer::kernels::Draw;

#[test]
fn fog_matches_reference() {
    check_spatial("fog", 1e-5, 0.0, true);
}

#[test]
fn spatter_matches_reference() {
    // The mask thresholds a blurred field: a value within rounding of the threshold may fall
    // either side, and its blurred mask changes a few pixels around it.
    check_spatial("spatter", 1e-5, 0.01, true);
}

#[test]
fn snow_matches_reference() {
    check_spatial("snow", 1e-5, 0.01, true);
}

#[test]
fn frost_matches_reference() {
    // The needles' cos, sin and sqrt differ by a few ULP.
    // The needles are drawn with sin and cos, which WGSL allows an absolute error of 2^-11.
    check_spatial("frost", 1e-3, 0.0, true);
}

/// Examples past 65,535 workgroups: example_range's grid spills into y.
#[test]
fn fog_range_spills_into_y() {
    let shape = [MAX_GROUPS + 3, 1, 1, 2];
    let x = uniform(&mut rng("fog_spill", 0), shape.iter().product(), 0.0, 1.0);
    let got = read(&pollster::block_on(aer::shift::spatial::apply(gpu(), "fog", 2, 5, &gpu().upload(&x, &shape))).unwrap().unwrap());
    let want = aer::shift::spatial::reference("fog", 2, 5, &x, shape).unwrap();
    assert_close("fog y", &shape, &got, &want, Tol { abs: 1e-5, rel: 0.0 });
}

/// The draws: uniform fields cover [lo, hi), normal ones have the asked mean and deviation.
#[test]
fn random_fields_have_their_moments() {
    let n = 200_000;
    let u = aer::reference::shift_weather::random_field(n, 1000, Draw::Uniform { lo: -1.0, hi: 1.0 }, 3, 0);
    assert!(u.iter().all(|v| (-1.0..1.0).contains(v)));
    let g = aer::reference::shift_weather::random_field(n, 1000, Draw::Normal { mean: 0.65, std: 0.3 }, 3, 1);
    let mean = g.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = g.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    assert!((mean - 0.65).abs() < 0.005 && (var.sqrt() - 0.3).abs() < 0.005, "mean {mean}, std {}", var.sqrt());
    let t = gpu().empty(&[n]);
    aer::kernels::random_field(gpu(), &t, [200, 1, 1, 1000], Draw::Normal { mean: 0.65, std: 0.3 }, 3, 1);
    assert_close("random_field", &n, &read(&t), &g, Tol { abs: 1e-6, rel: 0.0 });
}
