//! References for `shaders/adv_loss.wgsl`: the attack objectives per example.
#![allow(clippy::needless_range_loop)] // index loops mirror the shader's

use super::softmax_xent::first_argmax;
use crate::kernels::AdvLoss;

/// (objective, success, dlogits) per example; `targets` for a targeted attack, `reference`
/// (clean logits) for the KL objective.
pub fn adv_loss(kind: AdvLoss, logits: &[f32], labels: &[u32], targets: Option<&[u32]>, reference: Option<&[f32]>, classes: usize) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let mut loss = Vec::new();
    let mut success = Vec::new();
    let mut grad = vec![0f32; logits.len()];
    for (i, &y) in labels.iter().enumerate() {
        let row: Vec<f64> = logits[i * classes..(i + 1) * classes].iter().map(|&v| v as f64).collect();
        let g = &mut grad[i * classes..(i + 1) * classes];
        let pred = first_argmax(&logits[i * classes..(i + 1) * classes]) as usize;
        let y = y as usize;
        let t = targets.map(|t| t[i] as usize);
        success.push(match t {
            Some(t) => (pred == t) as u32,
            None => (pred != y) as u32,
        });
        let onehot = |j: usize, k: usize| (j == k) as u32 as f64;
        let value = match kind {
            AdvLoss::Ce => {
                let c = t.unwrap_or(y);
                let p = softmax(&row);
                let sgn = if t.is_some() { -1.0 } else { 1.0 };
                for j in 0..classes {
                    g[j] = (sgn * (p[j] - onehot(j, c))) as f32;
                }
                sgn * -p[c].ln()
            }
            AdvLoss::Dlr => {
                let mut order: Vec<usize> = (0..classes).collect();
                order.sort_by(|&a, &b| row[b].partial_cmp(&row[a]).unwrap().then(a.cmp(&b)));
                let (p1, p3) = (order[0], order[2]);
                match t {
                    Some(t) => {
                        let p4 = order[3];
                        let d = row[p1] - 0.5 * (row[p3] + row[p4]) + 1e-12;
                        let c = (row[y] - row[t]) / (d * d);
                        for j in 0..classes {
                            g[j] = (-(onehot(j, y) - onehot(j, t)) / d + c * (onehot(j, p1) - 0.5 * onehot(j, p3) - 0.5 * onehot(j, p4))) as f32;
                        }
                        -(row[y] - row[t]) / d
                    }
                    None => {
                        let other = (0..classes).filter(|&j| j != y).max_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap().then(b.cmp(&a))).unwrap();
                        let d = row[p1] - row[p3] + 1e-12;
                        let c = (row[y] - row[other]) / (d * d);
                        for j in 0..classes {
                            g[j] = (-(onehot(j, y) - onehot(j, other)) / d + c * (onehot(j, p1) - onehot(j, p3))) as f32;
                        }
                        -(row[y] - row[other]) / d
                    }
                }
            }
            AdvLoss::Margin => {
                let c = t.unwrap_or_else(|| (0..classes).filter(|&j| j != y).max_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap().then(b.cmp(&a))).unwrap());
                for j in 0..classes {
                    g[j] = (onehot(j, c) - onehot(j, y)) as f32;
                }
                row[c] - row[y]
            }
            AdvLoss::Kl => {
                let r: Vec<f64> = reference.expect("KL needs the clean logits")[i * classes..(i + 1) * classes].iter().map(|&v| v as f64).collect();
                let (p, q) = (softmax(&r), softmax(&row));
                for j in 0..classes {
                    g[j] = (q[j] - p[j]) as f32;
                }
                (0..classes).map(|j| if p[j] > 0.0 { p[j] * (p[j].ln() - q[j].ln()) } else { 0.0 }).sum()
            }
        };
        loss.push(value as f32);
    }
    (loss, success, grad)
}

fn softmax(row: &[f64]) -> Vec<f64> {
    let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|v| (v - mx).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}
