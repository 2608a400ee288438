//! faults.wgsl (bit flips) and approx.wgsl (products through an 8-bit multiplier's table)
//! against `reference::{faults, approx}`.

use crate::common::*;
use crate::layers::sizes_1d;
use aer::kernels;
use aer::reference::approx as reference;
use rand::Rng;

/// Bit flips (faults.wgsl): the exact fault pattern of the reference for a seed, in f32 words
/// and in f16-stored weights (values exact in f16, so rounding cannot differ).
#[test]
fn bit_flips_match_reference() {
    for (i, n) in sizes_1d("flip_bits").into_iter().filter(|&n| n < MAX_BINDING_F32).enumerate() {
        let mut r = rng("flip_bits", i);
        let rate = [0.0, 1e-3, 0.05, 0.5, 1.0][i % 5];
        let seed = 3 + i as u32;
        let case = format!("n = {n}, rate = {rate}");
        let words: Vec<u32> = (0..n).map(|_| r.random()).collect();
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

#[derive(Debug, Clone, Copy)]
struct LutCase {
    m: usize,
    n: usize,
    k: usize,
    layout: aer::kernels::ActivationLayout,
}

/// absmax, quantize_i8 and lut_matmul through the exact and a truncated table, every layout,
/// shapes off the 64-lane workgroup; inputs contain +-1 so the scales are exactly 1 / 127 and
/// rounding ties are exact.
#[test]
fn lut_products_match_reference() {
    let mut cases = vec![LutCase { m: 1, n: 1, k: 1, layout: LAYOUTS[0] }, LutCase { m: 128, n: 10, k: 256, layout: LAYOUTS[0] }, LutCase { m: 3, n: 65, k: 400, layout: LAYOUTS[1] }];
    for i in 0..12 {
        let mut r = rng("lut_shape", i);
        cases.push(LutCase { m: r.random_range(1..80), n: r.random_range(1..140), k: r.random_range(1..300), layout: LAYOUTS[i % 4] });
    }
    let tables = [aer::faults::ProductTable::exact(), aer::faults::ProductTable::truncated(6)];
    for (i, c) in cases.into_iter().enumerate() {
        let mut r = rng("lut_matmul", i);
        let mut x = dyadic(&mut r, c.m * c.k);
        let mut w = dyadic(&mut r, c.n * c.k);
        x[0] = -1.0;
        w[c.n * c.k - 1] = 1.0;
        let maxima = gpu().empty(&[2]);
        let (tx, tw) = (upload(&x), upload(&w));
        kernels::absmax(gpu(), &tx, &maxima, 0);
        kernels::absmax(gpu(), &tw, &maxima, 1);
        assert_close("absmax", &c, &read(&maxima), &[reference::absmax(&x), reference::absmax(&w)], Tol::EXACT);
        let (qx, qw) = (gpu().empty_u32(&[x.len()]), gpu().empty_u32(&[w.len()]));
        kernels::quantize_i8(gpu(), &tx, &maxima, 0, &qx);
        kernels::quantize_i8(gpu(), &tw, &maxima, 1, &qw);
        let (wqx, wqw) = (reference::quantize_i8(&x, 1.0), reference::quantize_i8(&w, 1.0));
        assert_same("quantize_i8", &c, &read_u32(&qx), &wqx.iter().map(|&v| v as u32).collect::<Vec<_>>());
        for t in &tables {
            let y = gpu().full(&[c.m * c.n], f32::NAN);
            kernels::lut_matmul(gpu(), &qx, &qw, &t.upload(gpu()), &maxima, &y, c.m, c.n, c.k, c.layout);
            let want = reference::lut_matmul(&wqx, &wqw, &t.entries, 1.0, 1.0, c.m, c.n, c.k, c.layout);
            // An exact integer sum times two scales whose division the GPU rounds within a few ULP.
            assert_close(&format!("lut_matmul ({})", t.name), &c, &read(&y), &want, Tol { abs: 0.0, rel: 1e-6 });
        }
    }
}
