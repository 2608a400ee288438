use crate::kernels::MatmulForm;

/// c[m, n] = op(a) op(b) (+ c when accumulating), accumulated in f64.
#[allow(clippy::too_many_arguments)]
pub fn matmul(form: MatmulForm, a: &[f32], b: &[f32], c: &mut [f32], m: usize, n: usize, k: usize, accumulate: bool) {
    let (ta, tb) = form.trans();
    for i in 0..m {
        for j in 0..n {
            let mut s = 0f64;
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                s += av as f64 * bv as f64;
            }
            let prev = if accumulate { c[i * n + j] as f64 } else { 0.0 };
            c[i * n + j] = (prev + s) as f32;
        }
    }
}
