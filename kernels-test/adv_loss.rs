//! adv_loss.wgsl against `reference::adv_loss`: the attack objectives (cross-entropy,
//! targeted or not, DLR, KL and margin), their success flags and gradients.

use crate::common::*;
use aer::kernels::{self, AdvLoss, AdvLossInputs};
use aer::reference::adv_loss as reference;
use rand::seq::SliceRandom;
use rand::Rng;

#[test]
fn adv_loss_matches_reference() {
    for (kind, targeted) in [(AdvLoss::Ce, false), (AdvLoss::Ce, true), (AdvLoss::Dlr, false), (AdvLoss::Dlr, true), (AdvLoss::Kl, false), (AdvLoss::Margin, false), (AdvLoss::Margin, true)] {
        let test = format!("adv_loss_{kind:?}_{targeted}");
        for i in 0..12 {
            let mut r = rng(&test, i);
            let batch = if i == 0 { 1 } else { r.random_range(1..=300) };
            let classes = r.random_range(4..=20);
            let case = (kind, targeted, batch, classes);
            // Distinct logits at least 0.27 apart: DLR's denominators stay away from 0 and
            // the ranking is unambiguous.
            let mut logits = Vec::new();
            for _ in 0..batch {
                let mut order: Vec<usize> = (0..classes).collect();
                order.shuffle(&mut r);
                let shift = r.random_range(-3.0..3.0f32);
                logits.extend(order.iter().map(|&o| o as f32 * 0.37 + r.random_range(0.0..0.1) + shift));
            }
            let clean: Vec<f32> = logits.iter().map(|v| v + r.random_range(-1.0..1.0)).collect();
            let labels: Vec<u32> = (0..batch).map(|_| r.random_range(0..classes as u32)).collect();
            let targets: Vec<u32> = labels.iter().map(|&y| (y + r.random_range(1..classes as u32)) % classes as u32).collect();
            let (lt, yt, tt, ct) = (upload(&logits), upload_u32(&labels), upload_u32(&targets), upload(&clean));
            let inputs = AdvLossInputs { labels: &yt, targets: targeted.then_some(&tt), reference: (kind == AdvLoss::Kl).then_some(&ct) };
            let (dl, loss, success) = (gpu().empty(&[batch, classes]), gpu().empty(&[batch]), gpu().empty_u32(&[batch]));
            kernels::adv_loss(gpu(), kind, &lt, &inputs, &dl, &loss, &success, batch, classes);
            let (want_loss, want_success, want_grad) =
                reference::adv_loss(kind, &logits, &labels, targeted.then_some(&targets[..]), (kind == AdvLoss::Kl).then_some(&clean[..]), classes);
            assert_close("adv_loss loss", &case, &read(&loss), &want_loss, Tol { abs: 2e-5, rel: 1e-5 });
            assert_same("adv_loss success", &case, &read_u32(&success), &want_success);
            assert_close("adv_loss dlogits", &case, &read(&dl), &want_grad, Tol { abs: 2e-5, rel: 1e-5 });
        }
    }
}
