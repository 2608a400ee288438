//! faults.wgsl (bit flips) against `reference::faults`, and its f32 to f16 rounding against
//! `half`.

use crate::common::*;
use aer::kernels;
use aer::reference::faults as reference;
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
        assert_same("flip_bits", &case, &read_u32(&t), &reference::flip_bits(&words, rate, seed));
        let v = dyadic(&mut r, n);
        let t = upload(&v);
        kernels::flip_bits_f16(gpu(), &t, rate, seed);
        let want = reference::flip_bits_f16(&v, rate, seed);
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
