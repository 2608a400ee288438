//! ibp.wgsl against `reference::ibp`. Inputs are multiples of 1/64 scaled by powers of two,
//! sized so that every sum stays below 2^24 units of its last place: every kernel must then
//! match exactly, in any summation order.

use crate::common::*;
use crate::maxpool::{pool_cases, pool_input};
use aer::kernels;
use aer::reference::ibp;
use rand::rngs::StdRng;
use rand::Rng;

/// Multiples of 1/64 in [lo, hi] (both multiples of 1/64).
fn grid(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let (a, b) = ((lo * 64.0) as i32, (hi * 64.0) as i32);
    (0..n).map(|_| rng.random_range(a..=b) as f32 / 64.0).collect()
}

fn pair(gpu: &aer::gpu::Gpu, n: usize) -> (aer::gpu::Tensor, aer::gpu::Tensor) {
    (gpu.empty(&[n]), gpu.empty(&[n]))
}

#[test]
fn ibp_input_matches_reference() {
    for (i, n) in sizes_1d("ibp_input").into_iter().enumerate() {
        let mut r = rng("ibp_input", i);
        // Pixels in [0, 1]; radii from 0 past 1 (the box is then all of [0, 1]).
        let x = grid(&mut r, n, 0.0, 1.0);
        let eps = [0.0, 1.0 / 64.0, 0.25, 0.5, 1.5][i % 5];
        let (c, rad) = pair(gpu(), n);
        kernels::ibp_input(gpu(), &upload(&x), eps, &c, &rad);
        let (wc, wr) = ibp::ibp_input(&x, eps);
        let case = format!("n = {n}, eps = {eps}");
        assert_close("ibp_input centre", &case, &read(&c), &wc, Tol::EXACT);
        assert_close("ibp_input radius", &case, &read(&rad), &wr, Tol::EXACT);
    }
}

#[test]
fn ibp_relu_forward_and_backward_match_reference() {
    for (i, n) in sizes_1d("ibp_relu").into_iter().enumerate() {
        let mut r = rng("ibp_relu", i);
        // Boxes entirely below, across and above 0, with zero radii and corners at 0.
        let c = grid(&mut r, n, -1.0, 1.0);
        let rad = grid(&mut r, n, 0.0, 1.0);
        let (yc, yr) = pair(gpu(), n);
        let (tc, tr) = (upload(&c), upload(&rad));
        kernels::ibp_relu(gpu(), &tc, &tr, &yc, &yr);
        let (wc, wr) = ibp::ibp_relu(&c, &rad);
        let case = format!("n = {n}");
        assert_close("ibp_relu centre", &case, &read(&yc), &wc, Tol::EXACT);
        assert_close("ibp_relu radius", &case, &read(&yr), &wr, Tol::EXACT);
        if n == MAX_BINDING_F32 {
            continue;
        }
        let (dc, dr) = (grid(&mut r, n, -1.0, 1.0), grid(&mut r, n, -1.0, 1.0));
        let (tdc, tdr) = (upload(&dc), upload(&dr));
        kernels::ibp_relu_backward(gpu(), &tc, &tr, &tdc, &tdr);
        let (wdc, wdr) = ibp::ibp_relu_backward(&c, &rad, &dc, &dr);
        assert_close("ibp_relu dc", &case, &read(&tdc), &wdc, Tol::EXACT);
        assert_close("ibp_relu dr", &case, &read(&tdr), &wdr, Tol::EXACT);
    }
}

#[test]
fn ibp_maxpool_forward_and_backward_match_reference() {
    for (i, case) in pool_cases().iter().enumerate() {
        let mut r = rng("ibp_maxpool", i);
        // Few distinct centres and radii: windows tie often, on either corner.
        let c = pool_input(&mut r, case);
        let rad: Vec<f32> = (0..c.len()).map(|_| r.random_range(0..=2) as f32 / 4.0).collect();
        let (oh, ow) = (case.h / 2, case.w / 2);
        let m = case.planes * oh * ow;
        let gpu = gpu();
        let (yc, yr) = pair(gpu, m);
        let (lo, hi) = (gpu.empty_u32(&[m]), gpu.empty_u32(&[m]));
        kernels::ibp_maxpool(gpu, &upload(&c), &upload(&rad), &yc, &yr, &lo, &hi, case.planes, case.h, case.w);
        let (wc, wr, wlo, whi) = ibp::ibp_maxpool(&c, &rad, case.planes, case.h, case.w);
        assert_close("ibp_maxpool centre", case, &read(&yc), &wc, Tol::EXACT);
        assert_close("ibp_maxpool radius", case, &read(&yr), &wr, Tol::EXACT);
        assert_same("ibp_maxpool lower winners", case, &read_u32(&lo), &wlo);
        assert_same("ibp_maxpool upper winners", case, &read_u32(&hi), &whi);

        let (dc, dr) = (grid(&mut r, m, -1.0, 1.0), grid(&mut r, m, -1.0, 1.0));
        let n_in = case.planes * case.h * case.w;
        // Garbage first: every input, odd edges included, must be written.
        let (gc, gr) = (upload(&vec![f32::NAN; n_in]), upload(&vec![f32::NAN; n_in]));
        kernels::ibp_maxpool_backward(gpu, &upload(&dc), &upload(&dr), &lo, &hi, &gc, &gr, case.planes, case.h, case.w);
        let (wdc, wdr) = ibp::ibp_maxpool_backward(&dc, &dr, &wlo, &whi, case.planes, case.h, case.w);
        assert_close("ibp_maxpool dc", case, &read(&gc), &wdc, Tol::EXACT);
        assert_close("ibp_maxpool dr", case, &read(&gr), &wdr, Tol::EXACT);
    }
}

#[test]
fn abs_negate_and_sign_accumulate_match_reference() {
    for (i, n) in sizes_1d("ibp_abs").into_iter().filter(|&n| n < MAX_BINDING_F32).enumerate() {
        let mut r = rng("ibp_abs", i);
        let w = grid(&mut r, n, -1.0, 1.0);
        let g = grid(&mut r, n, -1.0, 1.0);
        let acc = grid(&mut r, n, -1.0, 1.0);
        let (tw, out) = (upload(&w), gpu().empty(&[n]));
        let case = format!("n = {n}");
        kernels::abs_values(gpu(), &tw, &out);
        assert_close("abs_values", &case, &read(&out), &w.iter().map(|v| v.abs()).collect::<Vec<_>>(), Tol::EXACT);
        kernels::negate_values(gpu(), &tw, &out);
        assert_close("negate_values", &case, &read(&out), &w.iter().map(|v| -v).collect::<Vec<_>>(), Tol::EXACT);
        let grad = upload(&acc);
        kernels::sign_accumulate(gpu(), &tw, &upload(&g), &grad);
        // sign(0) = 0: a zero weight takes no gradient through |w|.
        let want: Vec<f32> = (0..n).map(|j| acc[j] + if w[j] == 0.0 { 0.0 } else { w[j].signum() * g[j] }).collect();
        assert_close("sign_accumulate", &case, &read(&grad), &want, Tol::EXACT);
    }
}

#[derive(Debug, Clone, Copy)]
struct MarginCase {
    n: usize,
    classes: usize,
    k: usize,
    /// Largest |weight| and |dworst| (powers of two, so that sums stay exact).
    w_max: f32,
    g_max: f32,
}

fn margin_cases() -> Vec<MarginCase> {
    let mut cases = vec![
        MarginCase { n: 1, classes: 2, k: 1, w_max: 1.0, g_max: 1.0 },
        MarginCase { n: 3, classes: 10, k: 1, w_max: 1.0, g_max: 1.0 },
        MarginCase { n: 128, classes: 10, k: 256, w_max: 1.0, g_max: 1.0 },
        MarginCase { n: 7, classes: 10, k: 1000, w_max: 1.0, g_max: 1.0 },
    ];
    cases.extend((0..20).map(|i| {
        let mut r = rng("margin_shape", i);
        MarginCase { n: r.random_range(1..=64), classes: r.random_range(2..=12), k: r.random_range(1..=900), w_max: 1.0, g_max: 1.0 }
    }));
    // The input gradient's grid (n * k) spills into y; smaller values keep the long sums exact.
    cases.push(MarginCase { n: 4100, classes: 2, k: 4096, w_max: 0.125, g_max: 0.25 });
    cases
}

#[test]
fn ibp_margin_and_its_gradients_match_reference() {
    for (i, case) in margin_cases().into_iter().enumerate() {
        let MarginCase { n, classes, k, w_max, g_max } = case;
        let mut r = rng("ibp_margin", i);
        let c = grid(&mut r, n * k, -1.0, 1.0);
        let rad = grid(&mut r, n * k, 0.0, 1.0);
        let w = grid(&mut r, classes * k, -w_max, w_max);
        let b = grid(&mut r, classes, -1.0, 1.0);
        let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..classes as u32)).collect();
        let gpu = gpu();
        let (tc, tr, tw, tl) = (upload(&c), upload(&rad), upload(&w), upload_u32(&labels));
        let worst = gpu.empty(&[n, classes]);
        kernels::ibp_margin(gpu, &tc, &tr, &tw, &upload(&b), &tl, &worst, n, classes, k);
        assert_close("ibp_margin", &case, &read(&worst), &ibp::ibp_margin(&c, &rad, &w, &b, &labels, classes, k), Tol::EXACT);

        let dworst = grid(&mut r, n * classes, -g_max, g_max);
        let (dc, dr) = pair(gpu, n * k);
        let (gw0, gb0) = (grid(&mut r, classes * k, -1.0, 1.0), grid(&mut r, classes, -1.0, 1.0));
        let (gw, gb) = (upload(&gw0), upload(&gb0));
        kernels::ibp_margin_backward(gpu, &upload(&dworst), &tc, &tr, &tw, &tl, Some((&dc, &dr)), Some((&gw, &gb)), n, classes, k);
        let (wdc, wdr, wgw, wgb) = ibp::ibp_margin_backward(&dworst, &c, &rad, &w, &labels, classes, k);
        assert_close("ibp_margin dc", &case, &read(&dc), &wdc, Tol::EXACT);
        assert_close("ibp_margin dr", &case, &read(&dr), &wdr, Tol::EXACT);
        let add = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x + y).collect::<Vec<f32>>();
        assert_close("ibp_margin weight gradient (accumulated)", &case, &read(&gw), &add(&wgw, &gw0), Tol::EXACT);
        assert_close("ibp_margin bias gradient (accumulated)", &case, &read(&gb), &add(&wgb, &gb0), Tol::EXACT);
    }
}

#[test]
fn ibp_worst_from_bounds_matches_reference() {
    for (i, case) in margin_cases().into_iter().enumerate() {
        let (n, classes) = (case.n, case.classes);
        let mut r = rng("ibp_worst_from_bounds", i);
        let c = grid(&mut r, n * classes, -4.0, 4.0);
        let rad = grid(&mut r, n * classes, 0.0, 2.0);
        let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..classes as u32)).collect();
        let worst = gpu().empty(&[n, classes]);
        kernels::ibp_worst_from_bounds(gpu(), &upload(&c), &upload(&rad), &upload_u32(&labels), &worst, n, classes);
        assert_close("ibp_worst_from_bounds", &case, &read(&worst), &ibp::ibp_worst_from_bounds(&c, &rad, &labels, classes), Tol::EXACT);
    }
}
