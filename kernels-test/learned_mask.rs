//! learned_mask.wgsl against `reference::learned_mask`: HYDRA's score gradient and the
//! hard-concrete gates (drawn and test-time), their gradients and open probabilities.

use crate::common::*;
use aer::kernels::{self, HardConcrete};
use aer::reference::learned_mask as reference;
use rand::Rng;

/// Sizes off the 256-wide workgroup, and one whose grid spills into y.
const SIZES: [usize; 5] = [1, 255, 257, 10_007, SPILL_1D + 5];

#[test]
fn score_grad_matches_reference() {
    for (i, n) in SIZES.into_iter().enumerate() {
        let mut r = rng("score_grad", i);
        let (w, g) = (dyadic(&mut r, n), dyadic(&mut r, n));
        // Scores of both signs and exact zeros (which stay put).
        let s: Vec<f32> = (0..n).map(|_| r.random_range(-2i32..=2) as f32 / 2.0).collect();
        let out = gpu().empty(&[n]);
        kernels::score_grad(gpu(), &upload(&w), &upload(&s), &upload(&g), &out);
        assert_close("score_grad", &n, &read(&out), &reference::score_grad(&w, &s, &g), Tol::EXACT);
    }
}

/// Locations spread so that gates land below 0, inside and above 1 after the stretch.
fn log_alpha(r: &mut rand::rngs::StdRng, n: usize) -> Vec<f32> {
    uniform(r, n, -6.0, 6.0)
}

#[test]
fn gate_forward_matches_reference() {
    let hc = HardConcrete::default();
    for (i, n) in SIZES.into_iter().enumerate() {
        let mut r = rng("gate_forward", i);
        let (w, la) = (dyadic(&mut r, n), log_alpha(&mut r, n));
        for seed in [None, Some(7u32), Some(0x9e37_79b9)] {
            let (w_eff, gate) = (gpu().empty(&[n]), gpu().empty(&[n]));
            kernels::gate_forward(gpu(), hc, &upload(&w), &upload(&la), seed, &w_eff, &gate);
            let (want_w, want_z) = reference::gate_forward(hc, &w, &la, seed);
            // exp, log and a division of values in [0, 1]; near u = 1 the draw's half-step
            // offset needs a 25th bit, so f32 rounds u itself, which log(1 - u) magnifies.
            let tol = Tol { abs: 1e-5, rel: 0.0 };
            let got_z = read(&gate);
            assert_close("gate_forward gate", &(n, seed), &got_z, &want_z, tol);
            assert_close("gate_forward w_eff", &(n, seed), &read(&w_eff), &want_w, tol);
            if n > 1000 {
                // The stretch makes exact zeros and ones, and a draw differs from the test gate.
                assert!(got_z.contains(&0.0) && got_z.contains(&1.0) && got_z.iter().any(|&z| z > 0.0 && z < 1.0), "gates cover 0, (0, 1) and 1; case {:?}", (n, seed));
            }
        }
    }
}

#[test]
fn gate_backward_and_open_probability_match_reference() {
    let hc = HardConcrete::default();
    for (i, n) in SIZES.into_iter().enumerate() {
        let mut r = rng("gate_backward", i);
        let (w, g, la) = (dyadic(&mut r, n), dyadic(&mut r, n), log_alpha(&mut r, n));
        let (_, gate) = reference::gate_forward(hc, &w, &la, Some(i as u32));
        for l0 in [0.0f32, 1e-3] {
            let (wg, lg) = (gpu().empty(&[n]), gpu().empty(&[n]));
            kernels::gate_backward(gpu(), hc, &upload(&w), &upload(&la), &upload(&g), &upload(&gate), l0, &wg, &lg);
            let (want_wg, want_lg) = reference::gate_backward(hc, &w, &la, &g, &gate, l0);
            assert_close("gate_backward w_grad", &(n, l0), &read(&wg), &want_wg, Tol { abs: 1e-7, rel: 1e-6 });
            // s recovered from z and a sigmoid: a few ULP of terms below 1.
            assert_close("gate_backward log_alpha_grad", &(n, l0), &read(&lg), &want_lg, Tol { abs: 2e-6, rel: 1e-5 });
        }
        let q = gpu().empty(&[n]);
        kernels::gate_open_probability(gpu(), hc, &upload(&la), &q);
        assert_close("gate_open_probability", &n, &read(&q), &reference::gate_open_probability(hc, &la), Tol { abs: 1e-6, rel: 0.0 });
    }
}
