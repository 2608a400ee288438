use crate::common::*;
use aer::kernels::{self, MatmulForm, MatmulVariant};
use MatmulVariant::{Blocked, Tiled};

#[test]
fn scratch_thin_times() {
    let cases = [
        (Tiled, MatmulForm::NT, 2usize, MAX_GROUPS * 64, 8usize),
        (Blocked, MatmulForm::NT, 4, MAX_GROUPS * 128, 1),
    ];
    for (v, form, m, n, k) in cases {
        let t0 = std::time::Instant::now();
        let mut r = rng("s", 0);
        let a = uniform(&mut r, m * k, -1.0, 1.0);
        let b = uniform(&mut r, k * n, -1.0, 1.0);
        let (ta, tb, tc) = (upload(&a), upload(&b), gpu().empty(&[m * n]));
        gpu().wait_idle();
        let t1 = t0.elapsed();
        let t = std::time::Instant::now();
        kernels::matmul_with(gpu(), v, form, &ta, &tb, &tc, m, n, k, false);
        gpu().wait_idle();
        let el = t.elapsed();
        let t2 = std::time::Instant::now();
        let got = read(&tc);
        let rd = t2.elapsed();
        let t3 = std::time::Instant::now();
        let mut want = vec![0.0; m * n];
        aer::reference::matmul(form, &a, &b, &mut want, m, n, k, false);
        assert_close("x", &0, &got, &want, Tol { abs: 1e-4, rel: 1e-5 });
        eprintln!("{v:?} {form:?} {m}x{n}x{k}: setup {t1:?} kernel {el:?} read {rd:?} ref+cmp {:?}", t3.elapsed());
    }
}
