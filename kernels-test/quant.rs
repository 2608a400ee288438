//! quant.wgsl against `reference::quant`: thresholds, ternarize, TTQ's straight-through
//! gradients, packing, BinaryRelax and the channel lasso, per layer and per channel.

use crate::common::*;
use aer::kernels::{self, TernaryGroups, ThresholdRule};
use aer::reference::quant as reference;
use rand::Rng;

fn groups_cases() -> Vec<(TernaryGroups, ThresholdRule)> {
    let mut out = Vec::new();
    for (n, k) in [(1, 1), (4, 17), (33, 100), (8, 3000)] {
        for groups in [1, n] {
            for rule in [ThresholdRule::MeanAbs(0.7), ThresholdRule::MaxAbs(0.05)] {
                out.push((TernaryGroups { n, k, groups }, rule));
            }
        }
    }
    out
}

/// Thresholds and TWN scales, the dequantized weights, the packed form and TTQ's gradients
/// of weights with exact zeros (pruned), per layer and per channel, under both rules.
#[test]
fn quantizers_match_reference() {
    for (i, (g, rule)) in groups_cases().into_iter().enumerate() {
        let case = format!("{g:?} {rule:?}");
        let mut r = rng("quantizers", i);
        let w: Vec<f32> = (0..g.n * g.k).map(|_| if r.random_bool(0.2) { 0.0 } else { r.random_range(-1.0..1.0) }).collect();
        let gw = upload(&w);
        let (delta, pos, neg) = (gpu().zeros(&[g.groups]), gpu().zeros(&[g.groups]), gpu().zeros(&[g.groups]));
        kernels::ternary_threshold(gpu(), g, rule, &gw, &delta, &pos, &neg, true);
        let want = reference::ternary_threshold(&w, g.groups, rule);
        let tol = Tol { abs: 1e-7, rel: 1e-5 };
        assert_close("delta", &case, &read(&delta), &want.iter().map(|d| d.0).collect::<Vec<_>>(), tol);
        assert_close("alpha", &case, &read(&pos), &want.iter().map(|d| d.1).collect::<Vec<_>>(), tol);
        assert_close("alpha (negative)", &case, &read(&neg), &want.iter().map(|d| d.1).collect::<Vec<_>>(), tol);

        // From here on the GPU's own thresholds, with asymmetric scales, so a weight near the
        // threshold cannot flip between GPU and reference.
        let delta_v = read(&delta);
        let pos_v: Vec<f32> = (0..g.groups).map(|_| r.random_range(1..=16) as f32 / 8.0).collect();
        let neg_v: Vec<f32> = (0..g.groups).map(|_| r.random_range(1..=16) as f32 / 8.0).collect();
        gpu().write(&pos, &pos_v);
        gpu().write(&neg, &neg_v);
        let wq = gpu().empty(&[w.len()]);
        kernels::ternarize(gpu(), g, &gw, &delta, &pos, &neg, &wq);
        assert_close("ternarize", &case, &read(&wq), &reference::ternarize(&w, &delta_v, &pos_v, &neg_v), Tol::EXACT);

        let p = kernels::ternary_pack(gpu(), g, &gw, &delta, &pos, &neg, true);
        let (words, row_pos, row_neg) = reference::ternary_pack(&w, &delta_v, &pos_v, &neg_v, g.n, g.k);
        assert_same("ternary_pack words", &case, &read_u32(&p.words), &words);
        assert_close("ternary_pack scale_pos", &case, &read(&p.scale_pos), &row_pos, Tol::EXACT);
        assert_close("ternary_pack scale_neg", &case, &read(&p.scale_neg), &row_neg, Tol::EXACT);

        let grad = dyadic(&mut r, w.len());
        let (gg, gp, gn) = (upload(&grad), gpu().zeros(&[g.groups]), gpu().zeros(&[g.groups]));
        kernels::ternary_ste(gpu(), g, &gw, &delta, &pos, &neg, &gg, &gp, &gn);
        let (latent, want_p, want_n) = reference::ternary_ste(&w, &delta_v, &pos_v, &neg_v, &grad);
        assert_close("ternary_ste latent gradient", &case, &read(&gg), &latent, Tol::EXACT);
        assert_close("ternary_ste scale_pos gradient", &case, &read(&gp), &want_p, Tol::EXACT);
        assert_close("ternary_ste scale_neg gradient", &case, &read(&gn), &want_n, Tol::EXACT);
    }
}

/// BinaryRelax's relaxation and the channel-sparsity gradient, on rows off the workgroup
/// size, with all-zero rows (no subgradient) and lambda from 0 to very large.
#[test]
fn ternary_relax_and_channel_lasso_match_reference() {
    for (i, (n, k)) in [(1usize, 1usize), (3, 255), (17, 257), (300, 784), (5, 5000)].into_iter().enumerate() {
        let mut r = rng("ternary_relax", i);
        let mut w = uniform(&mut r, n * k, -1.0, 1.0);
        if n > 2 {
            w[k..2 * k].iter_mut().for_each(|v| *v = 0.0);
        }
        let g = TernaryGroups { n, k, groups: 1 };
        let wq0 = uniform(&mut r, n * k, -1.0, 1.0);
        for lambda in [0.0f32, 0.5, 7.0, 1e6] {
            let wq = upload(&wq0);
            kernels::ternary_relax(gpu(), g, &upload(&w), &wq, lambda);
            // One product, one add and one division, each correctly rounded at most.
            assert_close("ternary_relax", &(n, k, lambda), &read(&wq), &reference::ternary_relax(&w, &wq0, lambda), Tol { abs: 3e-7, rel: 1e-6 });
        }
        let grad0 = uniform(&mut r, n * k, -1.0, 1.0);
        let grad = upload(&grad0);
        kernels::channel_lasso(gpu(), g, &upload(&w), &grad, 0.01);
        // A row's norm summed in another order: a few ULP of a term below mu.
        assert_close("channel_lasso", &(n, k), &read(&grad), &reference::channel_lasso(&w, &grad0, k, 0.01), Tol { abs: 1e-7, rel: 1e-6 });
    }
}
