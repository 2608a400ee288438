//! corrupt.wgsl against `reference::corrupt`: norms by two-stage reduction, L2 and L-inf
//! ascent steps and projections with absolute and relative radii, random perturbations.

use crate::common::*;
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
