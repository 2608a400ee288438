//! corrupt.wgsl against `reference::corrupt`: norms by two-stage reduction, L2 and L-inf
//! ascent steps and projections with absolute and relative radii, random perturbations.

use crate::common::*;
use crate::layers::sizes_1d;
use aer::kernels::{self, Radius};
use aer::reference::corrupt as reference;

/// Norms into slot 1 of three (the others must stay untouched).
fn norm_slots(x: &aer::gpu::Tensor, minus: Option<&aer::gpu::Tensor>, start: f32) -> Vec<f32> {
    let norms = upload(&[7.0, start, 9.0]);
    kernels::sum_squares(gpu(), x, minus, &norms, 1);
    read(&norms)
}

#[test]
fn sum_squares_accumulates_into_its_slot() {
    for (i, n) in sizes_1d("sum_squares").into_iter().filter(|&n| n < MAX_BINDING_F32).enumerate() {
        let mut r = rng("sum_squares", i);
        let (x, m) = (uniform(&mut r, n, -1.0, 1.0), uniform(&mut r, n, -1.0, 1.0));
        let case = format!("n = {n}");
        let got = norm_slots(&upload(&x), None, 0.5);
        // Sums of up to 2^24 positive terms in another order: relative rounding ~ log2(n) u.
        let tol = Tol { abs: 0.0, rel: 2e-6 };
        assert_close("sum_squares", &case, &got, &[7.0, (0.5 + reference::sum_squares(&x, None)) as f32, 9.0], tol);
        let got = norm_slots(&upload(&x), Some(&upload(&m)), 0.0);
        assert_close("sum_squares of a difference", &case, &got, &[7.0, reference::sum_squares(&x, Some(&m)) as f32, 9.0], tol);
    }
}

#[test]
fn l2_steps_and_projections_match_reference() {
    for (i, n) in sizes_1d("l2_corrupt").into_iter().filter(|&n| n < MAX_BINDING_F32).enumerate() {
        let mut r = rng("l2_corrupt", i);
        let (w0, g) = (uniform(&mut r, n, -1.0, 1.0), uniform(&mut r, n, -1.0, 1.0));
        let w1 = uniform(&mut r, n, -1.0, 1.0);
        let case = format!("n = {n}");
        // Slots: 0 = |w0|^2, 1 = |g|^2, 2 = |w1 - w0|^2.
        let norms = upload(&[0.0; 3]);
        let (tw0, tg) = (upload(&w0), upload(&g));
        kernels::sum_squares(gpu(), &tw0, None, &norms, 0);
        kernels::sum_squares(gpu(), &tg, None, &norms, 1);
        let nv: Vec<f64> = read(&norms).iter().map(|&v| v as f64).collect();
        let tol = Tol { abs: 1e-6, rel: 1e-6 };
        for (radius, r) in [(Radius::absolute(0.5), 0.5), (Radius::of_norm(0.05, 0), 0.05 * nv[0].sqrt())] {
            let w = upload(&w0);
            kernels::l2_ascent(gpu(), &w, &tg, &norms, 1, radius, 0.25);
            assert_close("l2_ascent", &format!("{case}, {radius:?}"), &read(&w), &reference::l2_ascent(&w0, &g, nv[1], r, 0.25), tol);
        }
        for (sphere, radius) in [(false, Radius::absolute(0.5)), (true, Radius::absolute(0.5)), (false, Radius::of_norm(0.01, 0)), (true, Radius::of_norm(2.0, 0))] {
            let w = upload(&w1);
            kernels::sum_squares(gpu(), &w, Some(&tw0), &norms, 2);
            let d2 = read(&norms)[2] as f64;
            kernels::l2_project(gpu(), &w, &tw0, &norms, 2, radius, sphere);
            let r = radius.abs as f64 + radius.rel as f64 * nv[0].sqrt();
            let what = format!("{case}, sphere {sphere}, {radius:?}");
            assert_close("l2_project", &what, &read(&w), &reference::l2_project(&w1, &w0, d2, r, sphere), tol);
            gpu().write(&norms, &[nv[0] as f32, nv[1] as f32, 0.0]);
        }
    }
}

#[test]
fn linf_steps_and_random_perturbations_match_reference() {
    for (i, n) in sizes_1d("linf_corrupt").into_iter().filter(|&n| n < MAX_BINDING_F32).enumerate() {
        let mut r = rng("linf_corrupt", i);
        let (w0, w1) = (uniform(&mut r, n, -1.0, 1.0), uniform(&mut r, n, -1.0, 1.0));
        // Zero gradients included: sign(0) = 0 leaves a weight where it is.
        let g: Vec<f32> = dyadic(&mut r, n).iter().map(|&v| if v.abs() < 0.1 { 0.0 } else { v }).collect();
        let case = format!("n = {n}");
        let norms = upload(&[0.0]);
        let tw0 = upload(&w0);
        kernels::sum_squares(gpu(), &tw0, None, &norms, 0);
        let rms = (read(&norms)[0] as f64 / n as f64).sqrt();
        for radius in [Radius::absolute(0.05), Radius::of_rms(0.1, 0, n)] {
            let r = if radius.count > 0 { (radius.rel as f64 * rms) as f32 } else { radius.abs };
            let what = format!("{case}, {radius:?}");
            let w = upload(&w1);
            kernels::linf_ascent(gpu(), &w, &tw0, &upload(&g), &norms, radius, 0.4);
            // The radius from a square root that the GPU rounds within a few ULP.
            let tol = Tol { abs: 4e-7 * (1.0 + r as f64), rel: 0.0 };
            assert_close("linf_ascent", &what, &read(&w), &reference::linf_ascent(&w1, &w0, &g, r, 0.4), tol);
            kernels::random_corner(gpu(), &w, &tw0, &norms, radius, 17 + i as u32);
            assert_close("random_corner", &what, &read(&w), &reference::random_corner(&w0, r, 17 + i as u32), tol);
        }
        let w = gpu().empty(&[n]);
        kernels::random_normal(gpu(), &w, &tw0, 5 + i as u32);
        // log and cos: Vulkan allows cos an absolute error of 2^-11, times draws up to ~5.6.
        assert_close("random_normal", &case, &read(&w), &reference::random_normal(&w0, 5 + i as u32), Tol { abs: 3e-3, rel: 0.0 });
    }
}

/// Bit flips (faults.wgsl): the exact fault pattern of the reference for a seed, in f32 words
/// and in f16-stored weights (values exact in f16, so rounding cannot differ).
#[test]
fn bit_flips_match_reference() {
    for (i, n) in sizes_1d("flip_bits").into_iter().filter(|&n| n < MAX_BINDING_F32).enumerate() {
        let mut r = rng("flip_bits", i);
        let rate = [0.0, 1e-3, 0.05, 0.5, 1.0][i % 5];
        let seed = 3 + i as u32;
        let case = format!("n = {n}, rate = {rate}");
        let words: Vec<u32> = (0..n).map(|_| rand::Rng::random(&mut r)).collect();
        let t = upload_u32(&words);
        kernels::flip_bits(gpu(), &t, rate, seed);
        assert_same("flip_bits", &case, &read_u32(&t), &aer::reference::faults::flip_bits(&words, rate, seed));
        let v = dyadic(&mut r, n);
        let t = upload(&v);
        kernels::flip_bits_f16(gpu(), &t, rate, seed);
        let want = aer::reference::faults::flip_bits_f16(&v, rate, seed);
        // Compare bit patterns: flips make NaNs, which never compare equal.
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
        assert_same("flip_bits_f16", &case, &bits(&read(&t)), &bits(&want));
    }
}

/// f32 to f16 rounding by hand (flip_bits_f16 at rate 0) against `half`: nearest even,
/// subnormals, overflow to infinity, signed zeros, infinities.
#[test]
fn f16_rounding_matches_half() {
    let mut r = rng("f16_rounding", 0);
    let mut v = uniform(&mut r, 20_000, -2.0, 2.0);
    v.extend(uniform(&mut r, 2_000, -1e-4, 1e-4));
    v.extend([0.0, -0.0, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, 65504.0, 65519.0, 65520.0, -70000.0, f32::INFINITY, f32::NEG_INFINITY, 1.0 + 1.0 / 2048.0, 1.0 + 3.0 / 2048.0]);
    let t = upload(&v);
    kernels::flip_bits_f16(gpu(), &t, 0.0, 0);
    let want: Vec<u32> = v.iter().map(|&x| half::f16::from_f32(x).to_f32().to_bits()).collect();
    assert_same("f16 rounding", &"rate 0", &read(&t).iter().map(|x| x.to_bits()).collect::<Vec<_>>(), &want);
}
