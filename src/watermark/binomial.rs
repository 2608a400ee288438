//! The p-value of a watermark check: how likely a model that never saw the key agrees with at
//! least `k` of `n` key labels, each matching by chance with probability `p` = 1/C.

/// log10 P(X >= k) for X ~ Binomial(n, p), 0 < p < 1: the exact upper tail, each term and
/// their sum kept in log space, so that tails far below f64's smallest number (1e-308) still
/// come out (statrs' `sf` returns 0 there, and a watermark's p-value is often that small).
pub fn log10_upper_tail(n: u64, k: u64, p: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    // ln j! for j = 0..=n.
    let mut ln_fact = Vec::with_capacity(n as usize + 1);
    ln_fact.push(0.0f64);
    for j in 1..=n {
        ln_fact.push(ln_fact[j as usize - 1] + (j as f64).ln());
    }
    let term = |j: u64| ln_fact[n as usize] - ln_fact[j as usize] - ln_fact[(n - j) as usize] + j as f64 * lp + (n - j) as f64 * lq;
    let terms: Vec<f64> = (k..=n).map(term).collect();
    let top = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let ln_tail = top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
    // Rounding can lift a tail of 1 a hair above it.
    ln_tail.min(0.0) / std::f64::consts::LN_10
}

#[cfg(test)]
mod tests {
    use super::log10_upper_tail;

    /// The tail summed directly in f64, where nothing underflows.
    fn direct(n: u64, k: u64, p: f64) -> f64 {
        let choose = |n: u64, j: u64| (1..=j).fold(1.0f64, |c, i| c * (n - j + i) as f64 / i as f64);
        (k..=n).map(|j| choose(n, j) * p.powi(j as i32) * (1.0 - p).powi((n - j) as i32)).sum()
    }

    #[test]
    fn matches_the_direct_sum_and_does_not_underflow() {
        for &(n, p) in &[(1u64, 0.5), (10, 0.1), (37, 0.25), (100, 0.1)] {
            for k in 0..=n {
                let (got, want) = (10f64.powf(log10_upper_tail(n, k, p)), direct(n, k, p));
                assert!((got - want).abs() <= 1e-9 * want.max(1e-300), "n {n} k {k} p {p}: {got} vs {want}");
            }
        }
        // All 1,000 of 1,000 at chance 1/10: exactly 10^-1000, far below f64's range.
        assert!((log10_upper_tail(1000, 1000, 0.1) + 1000.0).abs() < 1e-9);
        assert_eq!(log10_upper_tail(5, 6, 0.5), f64::NEG_INFINITY);
        assert_eq!(log10_upper_tail(5, 0, 0.5), 0.0);
    }
}
