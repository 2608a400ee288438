//! Attacks end to end on small models, in the style of the established libraries' property
//! tests: eps = 0 returns the input, every example stays in the eps-ball and [0, 1], success
//! grows with eps, restarts never weaken an attack, PGD finds the closed-form worst case of a
//! linear model, and adversarial training makes a model more robust.

mod common;

use common::{gpu, mnist};
use aer::attack::{evaluate_robustness, run_attack, sanity_checks, AttackConfig, AttackName, Batch, Method, Objective, WorstCase};
use aer::data::Dataset;
use aer::kernels::{AdvLoss, Norm};
use aer::nn::{Model, ModelSpec};
use aer::attack::{AdvMethod, AdvTrainConfig};
use aer::train::{train_epoch, Checkpoint, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, TrainConfig};
use pollster::block_on;
use std::collections::HashMap;
use std::path::Path;

/// The bundled clean-trained mlp (94.5% test accuracy).
fn demo_mlp() -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models/mlp-demo.safetensors");
    Checkpoint::load(&path).unwrap().restore(gpu()).unwrap().0
}

fn attack(name: AttackName, method: Method, norm: Norm, eps: f32, steps: usize, restarts: usize) -> AttackConfig {
    AttackConfig { name, method, norm, loss: AdvLoss::Ce, eps, step: 2.5 * eps / steps as f32, steps, restarts, random_start: true, targeted: false, seed: 1 }
}

/// Run `cfg` on the first examples of `data`; (clean x, adversarial x, success, loss).
fn run(model: &Model, data: &Dataset, cfg: &AttackConfig) -> (Vec<f32>, Vec<f32>, Vec<u32>, Vec<f32>) {
    let (x0, labels, _) = aer::attack::upload_range(gpu(), data, 0..data.len());
    let b = Batch::new(gpu(), x0.clone(), labels.clone(), cfg, 0);
    let record = WorstCase::new(gpu(), &x0);
    let ce = Objective { loss: AdvLoss::Ce, labels: &labels, targets: None, reference: None };
    record.observe(gpu(), &x0, &aer::attack::probe(gpu(), model, &ce, &x0, false));
    block_on(run_attack(gpu(), model, cfg, &b, &record)).unwrap();
    let g = gpu();
    (block_on(g.read_f32(&x0)).unwrap(), block_on(g.read_f32(&record.x)).unwrap(), block_on(g.read_u32(&record.success)).unwrap(), block_on(g.read_f32(&record.loss)).unwrap())
}

#[test]
fn eps_zero_returns_the_input_and_every_example_stays_in_the_ball() {
    let model = demo_mlp();
    let data = mnist().test.head(64);
    let d = data.image_len();
    for norm in [Norm::Linf, Norm::L2] {
        for method in [Method::Pgd, Method::Apgd] {
            for eps in [0.0, if norm == Norm::Linf { 0.1 } else { 1.0 }] {
                let cfg = attack(AttackName::Pgd, method, norm, eps, 10, 1);
                let (clean, adv, _, _) = run(&model, &data, &cfg);
                assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)), "{norm:?} {method:?} eps {eps}: left [0, 1]");
                for (i, (c, a)) in clean.chunks(d).zip(adv.chunks(d)).enumerate() {
                    let dist = match norm {
                        Norm::Linf => c.iter().zip(a).map(|(c, a)| (a - c).abs()).fold(0f32, f32::max),
                        Norm::L2 => c.iter().zip(a).map(|(c, a)| (a - c).powi(2)).sum::<f32>().sqrt(),
                    };
                    assert!(dist <= eps * (1.0 + 1e-5) + 1e-6, "{norm:?} {method:?}: example {i} at distance {dist} > eps {eps}");
                }
                if eps == 0.0 {
                    assert_eq!(clean, adv, "{norm:?} {method:?}: eps 0 must return the input");
                }
            }
        }
    }
}

#[test]
fn success_grows_with_eps_and_reaches_everything_at_full_range() {
    let model = demo_mlp();
    let data = mnist().test.head(128);
    let mut last = -1.0;
    for eps in [0.0, 0.03, 0.06, 0.1, 0.2, 1.0] {
        let (_, _, success, _) = run(&model, &data, &attack(AttackName::Pgd, Method::Pgd, Norm::Linf, eps, 20, 1));
        let rate = success.iter().sum::<u32>() as f64 / success.len() as f64;
        assert!(rate >= last, "success rate fell from {last} to {rate} at eps {eps}");
        last = rate;
    }
    assert_eq!(last, 1.0, "at eps 1 every image is reachable, so every attack must succeed");
}

#[test]
fn restarts_never_weaken_an_attack() {
    let model = demo_mlp();
    let data = mnist().test.head(96);
    for method in [Method::Pgd, Method::Apgd] {
        let (_, _, s1, l1) = run(&model, &data, &attack(AttackName::Pgd, method, Norm::Linf, 0.05, 10, 1));
        let (_, _, s3, l3) = run(&model, &data, &attack(AttackName::Pgd, method, Norm::Linf, 0.05, 10, 3));
        for i in 0..s1.len() {
            assert!(s3[i] > s1[i] || (s3[i] == s1[i] && l3[i] >= l1[i]), "{method:?} example {i}: 3 restarts ({}, {}) weaker than 1 ({}, {})", s3[i], l3[i], s1[i], l1[i]);
        }
        assert!(s3.iter().sum::<u32>() >= s1.iter().sum::<u32>());
    }
}

/// A two-class linear model: the worst case in the L-inf ball is x - eps sign(w_y - w_o), in
/// the L2 ball x - eps (w_y - w_o) / |w_y - w_o| (inside [0, 1] here, so no clamping).
#[test]
fn pgd_finds_the_closed_form_worst_case_of_a_linear_model() {
    let d = 50;
    let spec = ModelSpec::from_toml("name = \"linear\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n", "test").unwrap();
    let w: Vec<f32> = (0..2 * d).map(|i| ((i * 37 % 23) as f32 - 11.0) / 10.0 + 0.05).collect();
    let tensors: HashMap<String, Vec<f32>> = [("fc1.weight".to_string(), w.clone()), ("fc1.bias".to_string(), vec![0.3, -0.2])].into();
    let model = Model::from_tensors(gpu(), &spec, [1, 1, d], 2, &tensors).unwrap();
    let n = 6;
    let images: Vec<u8> = (0..n * d).map(|i| 90 + (i * 13 % 70) as u8).collect();
    let data = Dataset { images, labels: (0..n).map(|i| (i % 2) as u8).collect(), shape: [1, 1, d] };
    for (norm, eps) in [(Norm::Linf, 0.1f32), (Norm::L2, 0.3)] {
        // L2 steps of eps: on the sphere the angle to the optimum then halves every step (with
        // L-inf's 2.5 eps / steps it would shrink only by eps / (eps + step) per step).
        let base = attack(AttackName::Pgd, Method::Pgd, norm, eps, 60, 1);
        let cfg = if norm == Norm::L2 { AttackConfig { step: eps, ..base } } else { base };
        let (clean, adv, _, _) = run(&model, &data, &cfg);
        for e in 0..n {
            let y = e % 2;
            let diff: Vec<f32> = (0..d).map(|j| w[y * d + j] - w[(1 - y) * d + j]).collect();
            let norm2 = diff.iter().map(|v| v * v).sum::<f32>().sqrt();
            for j in 0..d {
                let want = match norm {
                    Norm::Linf => clean[e * d + j] - eps * diff[j].signum(),
                    Norm::L2 => clean[e * d + j] - eps * diff[j] / norm2,
                };
                let got = adv[e * d + j];
                assert!((got - want).abs() < 2e-3 * eps.max(1.0), "{norm:?} example {e} pixel {j}: PGD {got}, closed form {want}");
            }
        }
    }
}

#[test]
fn zero_gradients_are_flagged_as_gradient_masking() {
    // All-zero weights: constant logits, zero input gradient, nothing an attack can follow.
    let spec = ModelSpec::load("mlp").unwrap();
    let probe = demo_mlp();
    let tensors: HashMap<String, Vec<f32>> = probe.params.iter().map(|p| (p.name.clone(), vec![0.0; p.value.numel()])).collect();
    let model = Model::from_tensors(gpu(), &spec, [1, 28, 28], 10, &tensors).unwrap();
    let data = mnist().test.head(32);
    let r = block_on(evaluate_robustness(gpu(), &model, &data, &[attack(AttackName::Pgd, Method::Pgd, Norm::Linf, 0.1, 5, 1)], 32, &mut |_, _| {})).unwrap();
    assert_eq!(r.zero_gradients, 32);
    let checks = sanity_checks(&r, &[]);
    let masking = checks.iter().find(|c| c.name.contains("gradient masking")).unwrap();
    assert!(!masking.passed, "{masking:?}");
}

/// Train the mlp on 2,000 images for 2 epochs (adversarially with `adv`: PGD-3 at eps 0.1)
/// and return (clean, PGD-10 robust) accuracy on 256 validation images.
fn train_and_attack(adv: Option<AdvMethod>) -> (f64, f64) {
    let mut s = mnist();
    s.train = s.train.head(2000);
    let spec = ModelSpec::load("mlp").unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 64,
        seed: 3,
        optimizer: OptimizerConfig { kind: OptimizerKind::Adam, lr: 1e-3, ..Default::default() },
        schedule: LrSchedule::Cosine,
        ..Default::default()
    };
    let cfg = match adv {
        Some(method) => cfg.with(&AdvTrainConfig { method, eps: 0.1, step: 0.05, steps: 3, ..Default::default() }),
        None => cfg,
    };
    let mut methods = aer::methods::REGISTRY.build(&cfg).unwrap();
    let model = Model::new(gpu(), &spec, s.train.shape, 10, cfg.seed).unwrap();
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    for e in 0..cfg.epochs {
        let stats = block_on(train_epoch(gpu(), &model, &mut opt, &s.train, &cfg, e, &mut methods, &[], &mut |_, _| {})).unwrap();
        assert!(stats.loss.is_finite());
        assert_eq!(stats.robust_accuracy.is_some(), adv.is_some());
    }
    let eval_attack = attack(AttackName::Pgd, Method::Pgd, Norm::Linf, 0.1, 10, 1);
    let r = block_on(evaluate_robustness(gpu(), &model, &s.val.head(256), &[eval_attack], 256, &mut |_, _| {})).unwrap();
    (r.clean_accuracy(), r.worst_accuracy())
}

fn assert_more_robust(method: AdvMethod) {
    let (_, plain) = train_and_attack(None);
    let (clean, robust) = train_and_attack(Some(method));
    assert!(clean > 0.7, "{method:?}: clean accuracy {clean}, robust {robust} (clean training {plain})");
    assert!(robust > plain + 0.1, "{method:?}: robust accuracy {robust} not clearly above clean training's {plain}");
}

#[test]
fn pgd_training_makes_a_model_more_robust() {
    assert_more_robust(AdvMethod::Pgd);
}

#[test]
fn trades_training_makes_a_model_more_robust() {
    assert_more_robust(AdvMethod::Trades);
}

#[test]
fn nfgsm_examples_leave_the_eps_ball_but_not_three_times_it() {
    let model = demo_mlp();
    let data = mnist().test.head(64);
    let (x0, labels, _) = aer::attack::upload_range(gpu(), &data, 0..64);
    let eps = 0.1;
    let cfg = AdvTrainConfig { method: AdvMethod::Nfgsm, eps, ..Default::default() };
    let b = Batch::with_radii(gpu(), x0.clone(), labels, vec![eps; 64], vec![eps; 64], 7);
    let x = aer::attack::craft(gpu(), &model, &cfg, &b, None);
    let (clean, adv) = (block_on(gpu().read_f32(&x0)).unwrap(), block_on(gpu().read_f32(&x)).unwrap());
    let dist: Vec<f32> = clean.iter().zip(&adv).map(|(c, a)| (c - a).abs()).collect();
    assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(dist.iter().all(|&d| d <= 3.0 * eps + 1e-5), "beyond noise plus step: {}", dist.iter().cloned().fold(0.0, f32::max));
    // Noise of 2 eps and an unprojected step: many pixels end beyond eps.
    assert!(dist.iter().filter(|&&d| d > 1.5 * eps).count() > dist.len() / 10);
}

#[test]
fn class_balanced_shares_favour_weaker_classes() {
    let cfg = AdvTrainConfig { share: 0.5, balance: true, ..Default::default() };
    cfg.check().unwrap();
    assert_eq!(cfg.class_shares(None, 4), vec![0.5; 4], "before any measurement every class gets the mean share");
    let acc = [0.9, 0.5, 0.1, 0.5];
    let s = cfg.class_shares(Some(&acc), 4);
    assert!(s[2] > s[1] && s[1] > s[0] && s[1] == s[3], "{s:?}");
    assert!((s.iter().sum::<f32>() / 4.0 - 0.5).abs() < 1e-6, "mean share stays 0.5: {s:?}");
    let unbalanced = AdvTrainConfig { share: 0.5, ..Default::default() };
    assert_eq!(unbalanced.class_shares(Some(&acc), 4), vec![0.5; 4]);
    assert!(AdvTrainConfig { share: 1.0, balance: true, ..Default::default() }.check().is_err());
}

/// Stops the evaluation after `keep` new batches, as a session that ends would.
struct StopAfter<'a> {
    journal: &'a mut aer::attack::Journal,
    keep: usize,
}

impl aer::attack::BatchLog for StopAfter<'_> {
    fn recall(&mut self, batch: usize, attacks: &[AttackConfig]) -> aer::Result<Option<aer::attack::Robustness>> {
        self.journal.recall(batch, attacks)
    }
    fn record(&mut self, batch: usize, done: &aer::attack::Robustness) -> aer::Result<()> {
        if self.keep == 0 {
            return Err(aer::AerError::Invalid("stopped".into()));
        }
        self.keep -= 1;
        self.journal.record(batch, done)
    }
}

#[test]
fn an_evaluation_stopped_part_way_resumes_to_the_same_results() {
    use aer::attack::{evaluate_robustness_logged, Journal};
    let model = demo_mlp();
    let data = mnist().test.spread(40);
    let attacks = [attack(AttackName::Pgd, Method::Pgd, Norm::Linf, 0.1, 5, 2), attack(AttackName::ApgdCe, Method::Apgd, Norm::Linf, 0.1, 5, 1)];
    let whole = block_on(evaluate_robustness(gpu(), &model, &data, &attacks, 16, &mut |_, _| {})).unwrap();
    let dir = common::tmpdir("attack-journal");
    let what = serde_json::json!({"examples": 40, "attacks": attacks});
    let mut journal = Journal::open(dir.as_path(), &what, false).unwrap();
    let stopped = block_on(evaluate_robustness_logged(gpu(), &model, &data, &attacks, false, 16, &mut |_, _| {}, &mut StopAfter { journal: &mut journal, keep: 2 }));
    assert!(stopped.is_err());
    assert_eq!(journal.recorded(), 2);
    // Without --resume, or with other settings, the journal is refused rather than lost.
    let no_resume = Journal::open(dir.as_path(), &what, false).err().unwrap().to_string();
    assert!(no_resume.contains("--resume"), "{no_resume}");
    let other = Journal::open(dir.as_path(), &serde_json::json!({"examples": 41, "attacks": attacks}), true).err().unwrap().to_string();
    assert!(other.contains("examples"), "{other}");
    let mut journal = Journal::open(dir.as_path(), &what, true).unwrap();
    let resumed = block_on(evaluate_robustness_logged(gpu(), &model, &data, &attacks, false, 16, &mut |_, _| {}, &mut journal)).unwrap();
    assert_eq!(journal.recalled, 2);
    assert_eq!(resumed.labels, whole.labels);
    assert_eq!(resumed.worst_robust, whole.worst_robust);
    assert_eq!(resumed.adversarial, whole.adversarial);
    assert_eq!(resumed.adv_pred, whole.adv_pred);
    for (a, b) in resumed.attacks.iter().zip(&whole.attacks) {
        assert_eq!(a.robust, b.robust, "{}", a.config.label());
    }
    // A batch recorded with another batch size holds other examples: refused by name.
    let mut journal = Journal::open(dir.as_path(), &what, true).unwrap();
    let err = block_on(evaluate_robustness_logged(gpu(), &model, &data, &attacks, false, 8, &mut |_, _| {}, &mut journal)).err().unwrap().to_string();
    assert!(err.contains("batch 0"), "{err}");
    journal.finish().unwrap();
    assert!(!dir.as_path().join("journal").exists());
}

#[test]
fn a_cascade_finds_the_same_worst_case_on_fewer_examples() {
    use aer::attack::evaluate_robustness_logged;
    let model = demo_mlp();
    let data = mnist().test.spread(48);
    // No random starts: an example meets the same attack in a subset as in the whole batch.
    let fixed = |steps: usize| AttackConfig { random_start: false, ..attack(AttackName::Pgd, Method::Pgd, Norm::Linf, 0.06, steps, 1) };
    let square = AttackConfig { name: AttackName::Square, method: Method::Square, loss: AdvLoss::Margin, step: 0.0, ..attack(AttackName::Square, Method::Square, Norm::Linf, 0.06, 20, 1) };
    let attacks = [fixed(1), fixed(8), square];
    let run = |cascade| block_on(evaluate_robustness_logged(gpu(), &model, &data, &attacks[..2], cascade, 16, &mut |_, _| {}, &mut aer::attack::NoLog)).unwrap();
    let (all, cascade) = (run(false), run(true));
    assert_eq!(cascade.worst_robust, all.worst_robust);
    assert_eq!(cascade.attacks[0].robust, all.attacks[0].robust);
    // The second attack's accuracy is the accuracy after both; it attacked fewer examples.
    assert_eq!(cascade.attacks[1].robust, cascade.worst_robust);
    assert!(all.attacks[0].accuracy() > all.worst_accuracy() && all.worst_accuracy() > 0.0, "eps 0.06 should split the examples: {} {}", all.attacks[0].accuracy(), all.worst_accuracy());
    // Square queries only the examples the gradient attacks left robust.
    let with_square = block_on(evaluate_robustness_logged(gpu(), &model, &data, &attacks, true, 16, &mut |_, _| {}, &mut aer::attack::NoLog)).unwrap();
    let q = &with_square.attacks[2].queries;
    assert_eq!(q.len(), data.len());
    for i in 0..data.len() {
        if !with_square.attacks[1].robust[i] {
            assert_eq!(q[i], 0, "example {i} was already broken");
            assert!(!with_square.attacks[2].robust[i]);
        }
    }
    assert!(q.iter().any(|&q| q > 0));
}
