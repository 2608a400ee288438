//! approx.wgsl (products through an 8-bit multiplier's table) against `reference::approx`.

use crate::common::*;
use aer::kernels;
use aer::reference::approx as reference;
use rand::Rng;

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
