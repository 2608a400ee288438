//! bias.wgsl against `reference::bias`: the add, the gradient, and the gradient added to an
//! accumulator.

use crate::common::*;
use aer::kernels;
use aer::reference::bias as reference;
use rand::Rng;

#[derive(Debug, Clone, Copy)]
struct BiasCase {
    outer: usize,
    channels: usize,
    inner: usize,
}

impl BiasCase {
    fn numel(&self) -> usize {
        self.outer * self.channels * self.inner
    }
}

fn random_bias_cases(test: &str, count: usize) -> Vec<BiasCase> {
    (0..count)
        .map(|i| {
            let mut r = rng(test, i);
            // Linear layers have inner = 1, conv layers inner = H*W.
            let inner = if r.random() { 1 } else { r.random_range(1..=400) };
            BiasCase { outer: r.random_range(1..=64), channels: r.random_range(1..=300), inner }
        })
        .collect()
}

#[test]
fn bias_add_matches_reference() {
    let mut cases = vec![
        BiasCase { outer: 1, channels: 1, inner: 1 },
        BiasCase { outer: 1, channels: 5, inner: 1 },
        BiasCase { outer: 7, channels: 1, inner: 33 },
        BiasCase { outer: 1, channels: 3, inner: 257 },
    ];
    cases.extend(random_bias_cases("bias_add", 26));
    // Rows far longer than a run of 32, past the spill into y (one invocation per row of one
    // value), and one maximal binding.
    cases.push(BiasCase { outer: 64, channels: 300, inner: 875 });
    cases.push(BiasCase { outer: 4097, channels: 4096, inner: 1 });
    cases.push(BiasCase { outer: 1, channels: 2, inner: MAX_BINDING_F32 / 2 });
    for (i, case) in cases.iter().enumerate() {
        let mut r = rng("bias_add", 1000 + i);
        let x = uniform(&mut r, case.numel(), -1.0, 1.0);
        let bias = uniform(&mut r, case.channels, -1.0, 1.0);
        let t = upload(&x);
        kernels::bias_add(gpu(), &t, &upload(&bias), case.outer, case.channels, case.inner);
        let mut want = x;
        reference::bias_add(&mut want, &bias, case.channels, case.inner);
        // One correctly rounded f32 add per element.
        assert_close("bias_add x", case, &read(&t), &want, Tol::EXACT);
    }
}

#[test]
fn bias_relu_matches_reference() {
    let mut cases = vec![BiasCase { outer: 1, channels: 1, inner: 1 }, BiasCase { outer: 128, channels: 300, inner: 1 }, BiasCase { outer: 7, channels: 3, inner: 33 }];
    cases.extend(random_bias_cases("bias_relu", 20));
    cases.push(BiasCase { outer: 4097, channels: 4096, inner: 1 });
    cases.push(BiasCase { outer: 1, channels: 2, inner: MAX_BINDING_F32 / 2 });
    for (i, case) in cases.iter().enumerate() {
        let mut r = rng("bias_relu", i);
        let x = uniform(&mut r, case.numel(), -1.0, 1.0);
        let bias = uniform(&mut r, case.channels, -1.0, 1.0);
        let t = upload(&x);
        kernels::bias_relu(gpu(), &t, &upload(&bias), case.outer, case.channels, case.inner);
        let mut want = x;
        reference::bias_relu(&mut want, &bias, case.channels, case.inner);
        assert_close("bias_relu x", case, &read(&t), &want, Tol::EXACT);
    }
}

#[test]
fn bias_grad_matches_reference() {
    let mut cases = vec![
        BiasCase { outer: 1, channels: 1, inner: 1 },
        BiasCase { outer: 1, channels: 3, inner: 255 },
        BiasCase { outer: 2, channels: 1, inner: 129 },
        BiasCase { outer: 300, channels: 1, inner: 1 },
    ];
    cases.extend(random_bias_cases("bias_grad", 24));
    cases.extend([
        // A conv layer's gradient: 128 images of 28x28 over 300 channels.
        BiasCase { outer: 128, channels: 300, inner: 784 },
        // One maximal binding over 4 channels: 8.4M terms per sum.
        BiasCase { outer: 1024, channels: 4, inner: 8192 },
        // Thousands of workgroups, one per channel (65,535 would cost ~20 s on SwiftShader).
        BiasCase { outer: 3, channels: 4099, inner: 5 },
        BiasCase { outer: 1, channels: 256, inner: 65_536 },
        // Linear layers, by columns: the mlp's hidden layer, channels past a workgroup's 64
        // and off it, and one maximal binding of 7 columns.
        BiasCase { outer: 128, channels: 300, inner: 1 },
        BiasCase { outer: 1001, channels: 4099, inner: 1 },
        BiasCase { outer: 3, channels: 65, inner: 1 },
        BiasCase { outer: MAX_BINDING_F32 / 7, channels: 7, inner: 1 },
    ]);
    for (i, case) in cases.iter().enumerate() {
        let dy = dyadic(&mut rng("bias_grad", i), case.numel());
        let db = gpu().empty(&[case.channels]);
        kernels::bias_grad(gpu(), &upload(&dy), &db, case.outer, case.channels, case.inner);
        // Multiples of 1/64 with partial sums far below 2^18: exact in any summation order.
        assert_close(
            "bias_grad db",
            case,
            &read(&db),
            &reference::bias_grad(&dy, case.channels, case.inner),
            Tol::EXACT,
        );
    }
}

#[test]
fn bias_grad_accumulate_adds_to_the_gradient() {
    let mut r = rng("bias_grad_accumulate", 0);
    for (outer, channels, inner) in [(1, 1, 1), (3, 5, 7), (64, 10, 1), (2, 32, 196)] {
        let dy = dyadic(&mut r, outer * channels * inner);
        let before = dyadic(&mut r, channels);
        let db = upload(&before);
        kernels::bias_grad_accumulate(gpu(), &upload(&dy), &db, outer, channels, inner);
        let want: Vec<f32> = reference::bias_grad(&dy, channels, inner).iter().zip(&before).map(|(a, b)| a + b).collect();
        assert_close("bias_grad accumulate", &(outer, channels, inner), &read(&db), &want, Tol::EXACT);
    }
}

#[test]
fn relu_bias_grad_matches_reference() {
    let mut cases = vec![(1, 1), (1, 64), (5, 65), (128, 300), (128, 100), (128, 10), (3, 4099), (MAX_BINDING_F32 / 7, 7)];
    let mut r = rng("relu_bias_grad", 0);
    cases.extend((0..20).map(|_| (r.random_range(1..=300), r.random_range(1..=700))));
    for (i, &(outer, channels)) in cases.iter().enumerate() {
        let mut r = rng("relu_bias_grad", 1 + i);
        // A ReLU's output: about half of it zero.
        let y: Vec<f32> = dyadic(&mut r, outer * channels).iter().map(|v| v.max(0.0)).collect();
        let dy = dyadic(&mut r, outer * channels);
        let (gdy, db) = (upload(&dy), gpu().empty(&[channels]));
        kernels::relu_bias_grad(gpu(), &upload(&y), &gdy, &db, outer, channels);
        let (want_dy, want_db) = reference::relu_bias_grad(&y, &dy, channels);
        assert_close("relu_bias_grad dy", &(outer, channels), &read(&gdy), &want_dy, Tol::EXACT);
        // Multiples of 1/64: exact in any summation order.
        assert_close("relu_bias_grad db", &(outer, channels), &read(&db), &want_db, Tol::EXACT);
    }
}
