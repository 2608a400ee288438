//! FAB-T, the Square attack and AutoAttack's standard suite on linear models, whose minimal
//! L-inf distance to the boundary between classes i and j is known in closed form:
//! |(w_i - w_j).x + b_i - b_j| / ||w_i - w_j||_1 (when the box [0, 1] is not in the way).

mod common;

use aer::attack::{evaluate_robustness, run_attack, AttackConfig, AttackName, AttackSettings, Batch, Method, SuiteConfig, WorstCase};
use aer::data::Dataset;
use aer::kernels::{AdvLoss, Norm};
use aer::nn::{Model, ModelSpec};
use common::gpu;
use pollster::block_on;
use std::collections::HashMap;

const SIDE: usize = 8;
const D: usize = SIDE * SIDE;

/// A linear model on 8x8 images with seeded weights in [-1, 1] and biases in [-0.2, 0.2].
/// Smooth weights vary slowly over the image, as an image model's sensitivities do, which is
/// what Square's squares of one sign exploit; the others change sign from pixel to pixel.
fn linear(classes: usize, seed: usize, smooth: bool) -> (Model, Vec<f32>, Vec<f32>) {
    let spec = ModelSpec::from_toml("name = \"linear\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n", "test").unwrap();
    let w: Vec<f32> = (0..classes * D)
        .map(|i| {
            let (c, row, col) = ((i / D) as f32, (i % D / SIDE) as f32, (i % SIDE) as f32);
            match smooth {
                true => (0.5 * row + 0.9 * c + seed as f32).sin() * (0.4 * col - 1.3 * c).cos(),
                false => (((i + seed) * 7919 % 201) as f32 - 100.0) / 100.0,
            }
        })
        .collect();
    let b: Vec<f32> = (0..classes).map(|c| ((c + seed) * 37 % 9) as f32 / 20.0 - 0.2).collect();
    let tensors: HashMap<String, Vec<f32>> = [("fc1.weight".to_string(), w.clone()), ("fc1.bias".to_string(), b.clone())].into();
    (Model::from_tensors(gpu(), &spec, [1, SIDE, SIDE], classes, &tensors).unwrap(), w, b)
}

fn logits(w: &[f32], b: &[f32], x: &[f32]) -> Vec<f32> {
    b.iter().enumerate().map(|(c, &bc)| bc + w[c * D..(c + 1) * D].iter().zip(x).map(|(a, b)| a * b).sum::<f32>()).collect()
}

fn argmax(v: &[f32]) -> u32 {
    (0..v.len()).fold(0, |m, j| if v[j] > v[m] { j } else { m }) as u32
}

/// The closed-form minimal L-inf distance from x (label y) to the boundary with class j.
fn boundary(w: &[f32], b: &[f32], x: &[f32], y: usize, j: usize) -> f32 {
    let diff: Vec<f32> = (0..D).map(|k| w[y * D + k] - w[j * D + k]).collect();
    let margin = b[y] - b[j] + diff.iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
    margin.abs() / diff.iter().map(|v| v.abs()).sum::<f32>()
}

/// Images in [0.35, 0.65], far enough from the box's faces for the closed form to hold.
fn images(n: usize, seed: usize) -> Vec<f32> {
    (0..n * D).map(|i| 0.35 + ((i * 131 + seed * 17) % 61) as f32 / 200.0).collect()
}

fn config(name: AttackName, method: Method, eps: f32, steps: usize, targeted: bool) -> AttackConfig {
    AttackConfig { name, method, norm: Norm::Linf, loss: AdvLoss::Margin, eps, step: 0.0, steps, restarts: 1, random_start: method == Method::Square, targeted, seed: 3 }
}

/// Run `cfg` on `x` labelled `y` (targets: the other class of a two-class model) with radii
/// `eps`; (adversarial points, success flags, queries).
fn attack(model: &Model, cfg: &AttackConfig, x: &[f32], y: &[u32], eps: Vec<f32>) -> (Vec<f32>, Vec<u32>, Option<Vec<u32>>) {
    let n = y.len();
    let (x0, labels) = (gpu().upload(x, &[n, 1, SIDE, SIDE]), gpu().upload_u32(y, &[n]));
    let mut b = Batch::with_radii(gpu(), x0.clone(), labels.clone(), eps, vec![0.0; n], 0);
    b.targets = vec![gpu().upload_u32(&y.iter().map(|&c| 1 - c).collect::<Vec<_>>(), &[n])];
    // A fresh record takes whatever the attack leaves in it: its final points are checked.
    let record = WorstCase::new(gpu(), &x0);
    let queries = block_on(run_attack(gpu(), model, cfg, &b, &record)).unwrap();
    (block_on(gpu().read_f32(&record.x)).unwrap(), block_on(gpu().read_u32(&record.success)).unwrap(), queries)
}

fn linf(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0f32, |m, (a, b)| m.max((a - b).abs()))
}

#[test]
fn fab_t_finds_the_closed_form_minimal_perturbation_of_a_linear_model() {
    let (model, w, b) = linear(2, 1, false);
    let n = 12;
    let x = images(n, 2);
    let y: Vec<u32> = x.chunks(D).map(|r| argmax(&logits(&w, &b, r))).collect();
    // With eps 1 the closest point found is kept, whatever its distance.
    let (adv, success, _) = attack(&model, &config(AttackName::FabT, Method::Fab, 1.0, 100, true), &x, &y, vec![1.0; n]);
    for e in 0..n {
        let (x0, xa) = (&x[e * D..(e + 1) * D], &adv[e * D..(e + 1) * D]);
        let want = boundary(&w, &b, x0, y[e] as usize, 1 - y[e] as usize);
        let got = linf(x0, xa);
        assert_eq!(success[e], 1, "example {e} (closed-form distance {want}) not broken");
        assert_ne!(argmax(&logits(&w, &b, xa)), y[e], "example {e}: FAB's point is not misclassified");
        assert!(got >= want * (1.0 - 1e-3) && got <= want * 1.03, "example {e}: FAB found {got}, the closed-form minimum is {want}");
    }
}

#[test]
fn square_breaks_what_is_within_reach_and_nothing_beyond() {
    let (model, w, b) = linear(2, 4, true);
    let n = 16;
    let x = images(n, 5);
    let y: Vec<u32> = x.chunks(D).map(|r| argmax(&logits(&w, &b, r))).collect();
    let dist: Vec<f32> = x.chunks(D).zip(&y).map(|(r, &c)| boundary(&w, &b, r, c as usize, 1 - c as usize)).collect();
    // Half the examples at 3 times their distance, half at 2/3 of it (out of reach).
    let eps: Vec<f32> = dist.iter().enumerate().map(|(i, d)| if i % 2 == 0 { 3.0 * d } else { d / 1.5 }).collect();
    let queries = 400;
    let (adv, success, used) = attack(&model, &config(AttackName::Square, Method::Square, 0.0, queries, false), &x, &y, eps.clone());
    let used = used.expect("Square counts its queries");
    for e in 0..n {
        let (x0, xa) = (&x[e * D..(e + 1) * D], &adv[e * D..(e + 1) * D]);
        assert!(xa.iter().all(|v| (0.0..=1.0).contains(v)), "example {e}: left [0, 1]");
        assert!(linf(x0, xa) <= eps[e] + 1e-6, "example {e}: at distance {} > eps {}", linf(x0, xa), eps[e]);
        let fooled = argmax(&logits(&w, &b, xa)) != y[e];
        assert_eq!(success[e] == 1, fooled, "example {e}: success flag {} but misclassified {fooled}", success[e]);
        if e % 2 == 0 {
            assert!(fooled, "example {e}: distance {} within eps {} not broken in {} queries", dist[e], eps[e], used[e]);
            assert!(used[e] < queries as u32, "example {e}: broken, yet queried {} times", used[e]);
        } else {
            assert!(!fooled, "example {e}: broken at eps {} below its minimal distance {}", eps[e], dist[e]);
            assert_eq!(used[e], queries as u32, "example {e}: unbroken examples use the whole budget");
        }
    }
}

#[test]
fn standard_resolves_to_autoattack_and_refuses_l2() {
    let s = AttackSettings { attacks: Some(vec![AttackName::Standard]), ..Default::default() };
    let suite = SuiteConfig::resolve(&s, [3, 32, 32], 10).unwrap();
    let got: Vec<(String, usize, usize)> = suite.attacks.iter().map(|a| (a.label(), a.steps, a.restarts)).collect();
    assert_eq!(got, [("APGD-CE".into(), 100, 1), ("APGD-T".into(), 100, 9), ("FAB-T".into(), 100, 9), ("Square-5000".into(), 5000, 1)]);
    assert!((suite.attacks[0].eps - 8.0 / 255.0).abs() < 1e-7);
    // Four classes leave three runner-ups to target.
    let few = SuiteConfig::resolve(&s, [1, 28, 28], 4).unwrap();
    assert_eq!(few.attacks[2].restarts, 3);
    let l2 = AttackSettings { norm: Some(Norm::L2), ..s.clone() };
    let err = SuiteConfig::resolve(&l2, [1, 28, 28], 10).unwrap_err().to_string();
    assert!(err.contains("L-inf only"), "{err}");
    let square = AttackSettings { attacks: Some(vec![AttackName::Square]), square_queries: Some(0), ..Default::default() };
    assert!(SuiteConfig::resolve(&square, [1, 28, 28], 10).is_err());
}

#[test]
fn the_standard_suite_reports_each_attack_and_the_worst_case() {
    let (model, w, b) = linear(4, 7, true);
    let n = 24;
    let pixels: Vec<u8> = images(n, 8).iter().map(|v| (v * 255.0).round() as u8).collect();
    let x: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let y: Vec<usize> = x.chunks(D).map(|r| argmax(&logits(&w, &b, r)) as usize).collect();
    let nearest: Vec<f32> = x.chunks(D).zip(&y).map(|(r, &c)| (0..4).filter(|&j| j != c).map(|j| boundary(&w, &b, r, c, j)).fold(f32::INFINITY, f32::min)).collect();
    // The median distance: about half the examples are within reach.
    let mut sorted = nearest.clone();
    sorted.sort_by(f32::total_cmp);
    let eps = sorted[n / 2];
    let data = Dataset { images: pixels, labels: y.iter().map(|&c| c as u8).collect(), shape: [1, SIDE, SIDE] };
    let s = AttackSettings { attacks: Some(vec![AttackName::Standard]), eps: Some(eps), apgd_steps: Some(20), fab_steps: Some(20), square_queries: Some(100), ..Default::default() };
    let suite = SuiteConfig::resolve(&s, data.shape, 4).unwrap();
    let r = block_on(evaluate_robustness(gpu(), &model, &data, &suite.attacks, 16, &mut |_, _| {})).unwrap();
    assert_eq!(r.attacks.len(), 4);
    assert_eq!(r.clean_accuracy(), 1.0);
    for a in &r.attacks {
        assert!(r.worst_accuracy() <= a.accuracy(), "{}: worst case {} above the attack's {}", a.config.label(), r.worst_accuracy(), a.accuracy());
        assert_eq!(a.query_stats().is_some(), a.config.method == Method::Square, "{}", a.config.label());
    }
    // On a linear model the suite finds exactly what the closed form says is there.
    for (i, (&d, &robust)) in nearest.iter().zip(&r.worst_robust).enumerate() {
        assert!(d >= 0.95 * eps || !robust, "example {i} at distance {d} within eps {eps}, yet robust");
        assert!(d <= eps || robust, "example {i} at distance {d} beyond eps {eps}, yet broken");
    }
}
