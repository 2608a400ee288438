//! The smallest L-inf step from a point t onto the hyperplane {z : w.z = b} inside the box
//! [0, 1]^d: FAB's projection (Croce & Hein, 2020, the L-inf case of their Proposition 2).
//! Within radius r, the box lets coordinate i move by at most cap_i towards the plane (1 - t_i
//! up, t_i down), so the most the step can change w.z is g(r) = sum_i |w_i| min(r, cap_i):
//! piecewise linear and increasing in r, with its breakpoints at the caps. Sorting the caps
//! and walking the pieces finds the r where g(r) meets the gap exactly, in O(d log d).

/// The step d (into `d`) with w.(t + d) = b, t + d in [0, 1] and ||d||_inf smallest. When no
/// point of the box reaches the plane, the box corner nearest to it.
pub fn project_linf(t: &[f32], w: &[f32], b: f32, d: &mut [f32]) {
    let gap = b as f64 - t.iter().zip(w).map(|(&t, &w)| t as f64 * w as f64).sum::<f64>();
    // Direction of coordinate i (towards the plane) and how far the box lets it go.
    let dir = |i: usize| if gap >= 0.0 { w[i].signum() } else { -w[i].signum() };
    let cap = |i: usize| if dir(i) > 0.0 { 1.0 - t[i] as f64 } else { t[i] as f64 };
    let mut pieces: Vec<(f64, f64)> = (0..t.len()).filter(|&i| w[i] != 0.0).map(|i| (cap(i), (w[i] as f64).abs())).collect();
    pieces.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let need = gap.abs();
    // On the piece below breakpoint k, the coordinates before k are saturated and the rest
    // move by r: g(r) = fixed + slope r.
    let (mut fixed, mut slope) = (0.0, pieces.iter().map(|p| p.1).sum::<f64>());
    let (mut r, mut below) = (pieces.last().map_or(0.0, |p| p.0), 0.0);
    for &(c, wi) in &pieces {
        if fixed + slope * c >= need {
            // The answer lies on this piece; the bounds only absorb rounding in `slope`.
            r = ((need - fixed) / slope).max(below).min(c);
            break;
        }
        fixed += wi * c;
        slope -= wi;
        below = c;
    }
    for (i, di) in d.iter_mut().enumerate() {
        *di = if w[i] == 0.0 { 0.0 } else { (dir(i) as f64 * r.min(cap(i))) as f32 };
    }
}

#[cfg(test)]
mod tests {
    use super::project_linf;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn linf(d: &[f32]) -> f32 {
        d.iter().fold(0f32, |m, v| m.max(v.abs()))
    }

    #[test]
    fn lands_on_the_plane_in_the_box_at_the_smallest_radius() {
        let mut r = StdRng::seed_from_u64(7);
        for case in 0..200 {
            let n = r.random_range(1..40);
            let t: Vec<f32> = (0..n).map(|_| r.random_range(0.0..1.0)).collect();
            let w: Vec<f32> = (0..n).map(|i| if i % 7 == 3 { 0.0 } else { r.random_range(-2.0..2.0) }).collect();
            let wt: f32 = t.iter().zip(&w).map(|(a, b)| a * b).sum();
            let b = wt + r.random_range(-1.0..1.0);
            let mut d = vec![0.0; n];
            project_linf(&t, &w, b, &mut d);
            assert!(t.iter().zip(&d).all(|(t, d)| (-1e-6..=1.0 + 1e-6).contains(&(t + d))), "case {case}: left the box");
            let reach: f32 = t.iter().zip(&d).zip(&w).map(|((t, d), w)| (t + d) * w).sum();
            // The box reaches the plane when its extreme corner in the direction of b does.
            let feasible = if b > wt { w.iter().map(|&w| w.max(0.0)).sum::<f32>() >= b } else { w.iter().map(|&w| w.min(0.0)).sum::<f32>() <= b };
            if !feasible {
                continue;
            }
            assert!((reach - b).abs() < 1e-4, "case {case}: w.(t+d) = {reach}, plane at {b}");
            // Any smaller radius falls short: the greedy step of radius 0.999 r does not reach.
            let rad = linf(&d) * 0.999;
            let short: f32 = t.iter().zip(&w).map(|(&t, &w)| {
                let up = (b > wt) == (w > 0.0);
                let z = if up { (t + rad).min(1.0) } else { (t - rad).max(0.0) };
                z * w
            }).sum();
            assert!(if b > wt { short < b + 1e-6 } else { short > b - 1e-6 }, "case {case}: radius {rad} already reaches the plane");
        }
    }

    #[test]
    fn far_from_the_box_it_is_the_dual_norm_distance() {
        let t = vec![0.5; 6];
        let w = vec![1.0, -2.0, 0.5, 0.0, 3.0, -1.0];
        let b = 0.5 * w.iter().sum::<f32>() + 0.3;
        let mut d = vec![0.0; 6];
        project_linf(&t, &w, b, &mut d);
        let want = 0.3 / w.iter().map(|v| v.abs()).sum::<f32>();
        assert!((linf(&d) - want).abs() < 1e-6, "{} vs {want}", linf(&d));
        assert_eq!(d[3], 0.0, "a coordinate the plane ignores does not move");
    }
}
