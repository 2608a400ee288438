//! softmax_xent.wgsl against `reference::{softmax_xent, trades_xent, argmax}`: loss,
//! correctness and gradient, written at an offset into longer epoch buffers.

use crate::common::*;
use aer::kernels;
use aer::reference;
use rand::rngs::StdRng;
use rand::Rng;

const LOSS_SENTINEL: f32 = -12345.5;
const U32_SENTINEL: u32 = 0xDEAD_BEEF;

#[derive(Debug, Clone, Copy)]
struct Case {
    batch: usize,
    classes: usize,
    /// First slot of this batch in the epoch-long loss/pred/correct buffers.
    offset: usize,
    /// Free slots after the batch, which must stay untouched.
    tail: usize,
}

fn cases(test: &str) -> Vec<Case> {
    let mut cases = vec![
        Case { batch: 1, classes: 1, offset: 0, tail: 0 },
        Case { batch: 1, classes: 2, offset: 3, tail: 1 },
        Case { batch: 3, classes: 20, offset: 0, tail: 5 },
        Case { batch: 65, classes: 10, offset: 64, tail: 0 },
    ];
    cases.extend((0..26).map(|i| {
        let mut r = rng(test, i);
        Case {
            batch: r.random_range(1..=3000),
            classes: r.random_range(1..=20),
            offset: r.random_range(0..=5000),
            tail: r.random_range(0..=100),
        }
    }));
    // Wide rows; llvmpipe cuts every invocation off after 65,535 loop iterations in all, so
    // this stays below it (softmax_xent loops over a row three times).
    cases.push(Case { batch: 2, classes: 20_000, offset: 1, tail: 1 });
    // 65,535 workgroups of 64 rows: the logits fill a maximal 128 MiB binding.
    cases.push(Case { batch: MAX_GROUPS * 64, classes: 8, offset: 7, tail: 2 });
    cases
}

/// Logit rows of four kinds: moderate, large magnitude (+-80 and up to +-100, where a naive
/// exp overflows), exact ties from a few small integers, and constant rows.
fn logits(rng: &mut StdRng, c: &Case) -> Vec<f32> {
    let mut out = Vec::with_capacity(c.batch * c.classes);
    for _ in 0..c.batch {
        let kind = rng.random_range(0..5);
        for _ in 0..c.classes {
            out.push(match kind {
                0 | 1 => rng.random_range(-5.0..5.0),
                2 => {
                    if rng.random() {
                        80.0 * if rng.random() { 1.0 } else { -1.0 }
                    } else {
                        rng.random_range(-100.0..100.0)
                    }
                }
                3 => rng.random_range(0..3) as f32,
                _ => -80.0,
            });
        }
    }
    out
}

/// Epoch-long slots with sentinels, and the check that only [offset, offset + batch) changed.
fn slots<T: Copy + PartialEq + std::fmt::Debug>(what: &str, case: &Case, got: &[T], sentinel: T) -> Vec<T> {
    assert_eq!(got.len(), case.offset + case.batch + case.tail);
    let mut outside = (0..case.offset).chain(case.offset + case.batch..got.len());
    if let Some(i) = outside.find(|&i| got[i] != sentinel) {
        panic!(
            "{what}: slot {i} outside the batch's [{}, {}) was overwritten with {:?}; case {case:?}",
            case.offset,
            case.offset + case.batch,
            got[i]
        );
    }
    got[case.offset..case.offset + case.batch].to_vec()
}

#[test]
fn softmax_xent_matches_reference() {
    for (i, case) in cases("softmax_xent").iter().enumerate() {
        let mut r = rng("softmax_xent", i);
        let x = logits(&mut r, case);
        let labels: Vec<u32> = (0..case.batch).map(|_| r.random_range(0..case.classes as u32)).collect();
        let slots_len = case.offset + case.batch + case.tail;
        let gpu = gpu();
        let dlogits = upload(&vec![f32::NAN; x.len()]);
        let loss = upload(&vec![LOSS_SENTINEL; slots_len]);
        let correct = upload_u32(&vec![U32_SENTINEL; slots_len]);
        kernels::softmax_xent(
            gpu,
            &upload(&x),
            &upload_u32(&labels),
            &dlogits,
            &loss,
            &correct,
            case.batch,
            case.classes,
            case.offset,
        );
        let (want_loss, want_correct, want_grad) = reference::softmax_xent(&x, &labels, case.classes);

        // log, exp and the final subtraction, on losses up to ~200: see main.rs.
        let got_loss = slots("softmax_xent loss", case, &read(&loss), LOSS_SENTINEL);
        assert_close("softmax_xent loss", case, &got_loss, &want_loss, Tol { abs: 2e-5, rel: 1e-6 });
        let got_correct = slots("softmax_xent correct", case, &read_u32(&correct), U32_SENTINEL);
        assert_same("softmax_xent correct", case, &got_correct, &want_correct);
        // Probabilities to a few ULP of 1, times scale = 1 / batch.
        let scale = 1.0 / case.batch as f64;
        assert_close("softmax_xent dlogits", case, &read(&dlogits), &want_grad, Tol { abs: 1e-5 * scale, rel: 1e-6 });
    }
}

#[test]
fn argmax_matches_reference() {
    for (i, case) in cases("argmax").iter().enumerate() {
        let mut r = rng("argmax", i);
        let x = logits(&mut r, case);
        let labels: Vec<u32> = (0..case.batch).map(|_| r.random_range(0..case.classes as u32)).collect();
        let slots_len = case.offset + case.batch + case.tail;
        let gpu = gpu();
        let pred = upload_u32(&vec![U32_SENTINEL; slots_len]);
        let correct = upload_u32(&vec![U32_SENTINEL; slots_len]);
        kernels::argmax(gpu, &upload(&x), &upload_u32(&labels), &pred, &correct, case.batch, case.classes, case.offset);
        let (want_pred, want_correct) = reference::argmax(&x, &labels, case.classes);
        // Ties go to the first maximum, on both sides.
        assert_same("argmax pred", case, &slots("argmax pred", case, &read_u32(&pred), U32_SENTINEL), &want_pred);
        assert_same(
            "argmax correct",
            case,
            &slots("argmax correct", case, &read_u32(&correct), U32_SENTINEL),
            &want_correct,
        );
    }
}

#[test]
fn trades_xent_matches_reference() {
    let beta = 6.0;
    // Twice the logits must fit one binding, and trades_xent loops over a row five times, so
    // rows stay below llvmpipe's 65,535 loop iterations per invocation at 12,000 classes.
    let mut cases: Vec<Case> = cases("trades_xent").into_iter().filter(|c| 2 * c.batch * c.classes <= MAX_BINDING_F32 && c.classes <= 12_000).collect();
    cases.push(Case { batch: 2, classes: 12_000, offset: 1, tail: 1 });
    for (i, case) in cases.iter().enumerate() {
        let mut r = rng("trades_xent", i);
        // Clean rows then adversarial rows, both of every kind `logits` makes.
        let mut x = logits(&mut r, case);
        x.extend(logits(&mut r, case));
        let labels: Vec<u32> = (0..case.batch).map(|_| r.random_range(0..case.classes as u32)).collect();
        let slots_len = case.offset + case.batch + case.tail;
        let dlogits = upload(&vec![f32::NAN; x.len()]);
        let loss = upload(&vec![LOSS_SENTINEL; slots_len]);
        let correct = upload_u32(&vec![U32_SENTINEL; slots_len]);
        let adv_correct = upload_u32(&vec![U32_SENTINEL; slots_len]);
        kernels::trades_xent(gpu(), &upload(&x), &upload_u32(&labels), &dlogits, &loss, &correct, &adv_correct, beta, case.batch, case.classes, case.offset);
        let (want_loss, want_correct, want_adv, want_grad) = reference::trades_xent(&x, &labels, case.classes, beta);
        let got_loss = slots("trades_xent loss", case, &read(&loss), LOSS_SENTINEL);
        // As softmax_xent, plus beta times a KL of up to ~200 nats from a sum of log-ratios.
        assert_close("trades_xent loss", case, &got_loss, &want_loss, Tol { abs: 1e-4, rel: 1e-5 });
        assert_same("trades_xent correct", case, &slots("trades_xent correct", case, &read_u32(&correct), U32_SENTINEL), &want_correct);
        assert_same("trades_xent adv_correct", case, &slots("trades_xent adv_correct", case, &read_u32(&adv_correct), U32_SENTINEL), &want_adv);
        // p (log p - log q - KL) carries the KL's rounding, scaled by beta / batch.
        let kl_max = want_loss.iter().fold(1f64, |m, &l| m.max(l.abs() as f64));
        let scale = 1.0 / case.batch as f64;
        assert_close("trades_xent dlogits", case, &read(&dlogits), &want_grad, Tol { abs: 2e-5 * (1.0 + kl_max) * scale, rel: 1e-5 });
    }
}
