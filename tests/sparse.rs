//! Pruning on the GPU: magnitude pruning meets the requested sparsity exactly (per layer and
//! globally) and keeps the largest weights, pruned weights and their optimizer state stay
//! zero through training, masks survive a checkpoint, the lottery-ticket loop runs, and SNIP
//! prunes by sensitivity.

mod common;

use common::{gpu, mnist_head};
use aer::data::Splits;
use aer::nn::{Model, ModelSpec};
use aer::sparse::{lottery_ticket, magnitude_prune, sparsity_report, LotteryConfig, Scope};
use aer::train::{train_epoch, Checkpoint, LrSchedule, Optimizer, OptimizerConfig, OptimizerKind, TrainConfig};
use pollster::block_on;

fn mnist(train: usize) -> Splits {
    mnist_head(train, 300)
}

fn config(kind: OptimizerKind) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: 64,
        seed: 5,
        optimizer: OptimizerConfig { kind, lr: if kind == OptimizerKind::Sgd { 0.05 } else { 1e-3 }, weight_decay: 1e-3, ..Default::default() },
        schedule: LrSchedule::Constant,
        ..Default::default()
    }
}

/// (name, values) of the prunable weights.
fn weights(m: &Model) -> Vec<(String, Vec<f32>)> {
    block_on(m.download(gpu())).unwrap().into_iter().filter(|(n, _, _)| n.ends_with(".weight")).map(|(n, _, v)| (n, v)).collect()
}

#[test]
fn magnitude_pruning_is_exact_and_keeps_the_largest() {
    let spec = ModelSpec::load("cnn").unwrap();
    for scope in [Scope::Layer, Scope::Global] {
        for sparsity in [0.0, 0.5, 0.9, 0.99] {
            let mut m = Model::new(gpu(), &spec, [1, 28, 28], 10, 1).unwrap();
            let before = weights(&m);
            magnitude_prune(gpu(), &mut m, None, sparsity, scope);
            let after = weights(&m);
            let zeros = |v: &[f32]| v.iter().filter(|&&x| x == 0.0).count();
            match scope {
                Scope::Layer => {
                    for (name, v) in &after {
                        assert_eq!(zeros(v), (sparsity * v.len() as f64).round() as usize, "{name} at {sparsity}");
                    }
                }
                Scope::Global => {
                    let total: usize = after.iter().map(|(_, v)| v.len()).sum();
                    let z: usize = after.iter().map(|(_, v)| zeros(v)).sum();
                    assert_eq!(z, (sparsity * total as f64).round() as usize, "global at {sparsity}");
                }
            }
            // Every kept weight is unchanged and at least as large as every pruned one.
            let (mut min_kept, mut max_pruned) = (f32::INFINITY, 0f32);
            for ((_, b), (_, a)) in before.iter().zip(&after) {
                for (x, y) in b.iter().zip(a) {
                    if *y == 0.0 {
                        max_pruned = max_pruned.max(x.abs());
                    } else {
                        assert_eq!(x, y);
                        min_kept = min_kept.min(x.abs());
                    }
                }
                if scope == Scope::Layer {
                    assert!(min_kept >= max_pruned, "{scope:?} {sparsity}: kept {min_kept} < pruned {max_pruned}");
                    (min_kept, max_pruned) = (f32::INFINITY, 0.0);
                }
            }
            assert!(min_kept >= max_pruned, "{scope:?} {sparsity}: kept {min_kept} < pruned {max_pruned}");
        }
    }
}

#[test]
fn pruned_weights_stay_zero_through_training_and_checkpoints() {
    let s = mnist(640);
    let spec = ModelSpec::load("mlp").unwrap();
    for kind in [OptimizerKind::Sgd, OptimizerKind::Adam] {
        let cfg = config(kind);
        let mut m = Model::new(gpu(), &spec, s.train.shape, 10, 2).unwrap();
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &m.params);
        // Some steps first, so the optimizer state is non-zero where weights get pruned.
        block_on(train_epoch(gpu(), &m, &mut opt, &s.train, &cfg, 0, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
        magnitude_prune(gpu(), &mut m, Some(&opt), 0.8, Scope::Layer);
        let pruned: Vec<Vec<bool>> = weights(&m).iter().map(|(_, v)| v.iter().map(|&x| x == 0.0).collect()).collect();
        for e in 1..4 {
            block_on(train_epoch(gpu(), &m, &mut opt, &s.train, &cfg, e, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
        }
        for ((name, v), p) in weights(&m).iter().zip(&pruned) {
            assert!(v.iter().zip(p).all(|(x, &was)| !was || *x == 0.0), "{kind:?}: a pruned weight of {name} moved");
            assert!(v.iter().zip(p).filter(|(x, &was)| !was && **x != 0.0).count() > 0, "{kind:?}: {name} stopped training");
        }
        let rep = block_on(sparsity_report(gpu(), &m)).unwrap();
        assert!((rep.sparsity - 0.8).abs() < 1e-3 && rep.sparse_macs < rep.dense_macs / 4, "{rep:?}");
        // The checkpoint holds the masks; the restored model keeps them in training.
        let ck = block_on(Checkpoint::capture(gpu(), &m, &opt, &cfg, 4, &[])).unwrap();
        let back = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
        let (m2, mut opt2) = back.restore(gpu()).unwrap();
        assert!(m2.params.iter().filter(|p| p.prunable()).all(|p| p.mask.is_some()));
        block_on(train_epoch(gpu(), &m2, &mut opt2, &s.train, &cfg, 4, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
        for ((_, v), p) in weights(&m2).iter().zip(&pruned) {
            assert!(v.iter().zip(p).all(|(x, &was)| !was || *x == 0.0), "{kind:?}: a pruned weight moved after restore");
        }
    }
}

#[test]
fn lottery_ticket_rounds_prune_the_remaining_weights() {
    let s = mnist(1500);
    let cfg = TrainConfig { epochs: 2, ..config(OptimizerKind::Adam) };
    let lt = LotteryConfig { rounds: 2, rate: 0.5, scope: Scope::Global, rewind_epoch: 0, parts: 1 };
    let rounds = block_on(lottery_ticket(gpu(), &s, &ModelSpec::load("mlp").unwrap(), &cfg, &lt, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &mut |_| {})).unwrap();
    assert_eq!(rounds.iter().map(|r| r.remaining).collect::<Vec<_>>(), vec![1.0, 0.5, 0.25]);
    for r in &rounds {
        assert!(r.test_accuracy > 0.8 && r.best_epoch >= 1, "{r:?}");
    }
}

/// COLT: the shares' masks overlap only in part, so each round keeps fewer weights than one
/// copy's pruning would, and the rounds keep narrowing.
#[test]
fn colt_keeps_only_the_weights_every_share_kept() {
    let s = mnist(1500);
    let cfg = TrainConfig { epochs: 2, ..config(OptimizerKind::Adam) };
    let lt = LotteryConfig { rounds: 2, rate: 0.5, scope: Scope::Layer, rewind_epoch: 0, parts: 2 };
    let rounds = block_on(lottery_ticket(gpu(), &s, &common::mlp100(), &cfg, &lt, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &mut |_| {})).unwrap();
    let left: Vec<f64> = rounds.iter().map(|r| r.remaining).collect();
    assert_eq!(left[0], 1.0);
    assert!(left[1] < 0.5 && left[1] > 0.2 && left[2] < 0.25, "remaining per round: {left:?}");
    for r in &rounds {
        assert!(r.test_accuracy > 0.75 && r.best_epoch >= 1, "{r:?}");
    }
}

#[test]
fn prune_and_regrow_keeps_the_count_and_follows_the_gradient() {
    use aer::sparse::{prune_and_regrow, Grow};
    let s = mnist(256);
    let spec = ModelSpec::load("mlp").unwrap();
    for grow in [Grow::Gradient, Grow::Random(9)] {
        let mut m = Model::new(gpu(), &spec, s.train.shape, 10, 4).unwrap();
        magnitude_prune(gpu(), &mut m, None, 0.9, Scope::Layer);
        let before = weights(&m);
        // One dense backward pass, then the update.
        m.dense_gradients.set(true);
        let cfg = TrainConfig { optimizer: OptimizerConfig { lr: 0.0, ..config(OptimizerKind::Sgd).optimizer }, ..config(OptimizerKind::Sgd) };
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &m.params);
        block_on(train_epoch(gpu(), &m, &mut opt, &s.train.head(64), &cfg, 0, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
        let grads: Vec<Vec<f32>> = m.params.iter().filter(|p| p.prunable()).map(|p| block_on(gpu().read_f32(&p.grad)).unwrap()).collect();
        block_on(prune_and_regrow(gpu(), &m, Some(&opt), 0.3, grow)).unwrap();
        m.dense_gradients.set(false);
        let after = weights(&m);
        let masks: Vec<Vec<f32>> = m.params.iter().filter(|p| p.prunable()).map(|p| block_on(gpu().read_f32(p.mask.as_ref().unwrap())).unwrap()).collect();
        for (((name, b), (_, a)), (mask, g)) in before.iter().zip(&after).zip(masks.iter().zip(&grads)) {
            let was: Vec<bool> = b.iter().map(|&x| x != 0.0).collect();
            let now: Vec<bool> = mask.iter().map(|&x| x != 0.0).collect();
            let active = was.iter().filter(|&&x| x).count();
            assert_eq!(now.iter().filter(|&&x| x).count(), active, "{grow:?} {name}: active count changed");
            let moved = ((0.3 * active as f64).round()) as usize;
            let dropped: Vec<usize> = (0..b.len()).filter(|&j| was[j] && !now[j]).collect();
            let grown: Vec<usize> = (0..b.len()).filter(|&j| !was[j] && now[j]).collect();
            assert_eq!((dropped.len(), grown.len()), (moved, moved), "{grow:?} {name}");
            // Dropped: the smallest active weights; grown: start at zero.
            let max_dropped = dropped.iter().map(|&j| b[j].abs()).fold(0f32, f32::max);
            let min_kept = (0..b.len()).filter(|&j| was[j] && now[j]).map(|j| b[j].abs()).fold(f32::INFINITY, f32::min);
            assert!(max_dropped <= min_kept, "{grow:?} {name}: dropped {max_dropped} > kept {min_kept}");
            assert!(grown.iter().all(|&j| a[j] == 0.0) && dropped.iter().all(|&j| a[j] == 0.0), "{grow:?} {name}");
            if grow == Grow::Gradient {
                let min_grown = grown.iter().map(|&j| g[j].abs()).fold(f32::INFINITY, f32::min);
                let max_left = (0..b.len()).filter(|&j| !was[j] && !now[j]).map(|j| g[j].abs()).fold(0f32, f32::max);
                assert!(min_grown >= max_left, "{name}: grew |g| {min_grown} but left {max_left}");
            }
        }
    }
}

/// Block pruning removes whole blocks (of the weight matrix, a convolution's as [out, in kh kw]),
/// exactly as many as asked per layer, those of smallest mean square first; the first and last
/// layers can be left dense.
#[test]
fn block_pruning_removes_whole_blocks_of_smallest_norm() {
    use aer::nn::matrix_shape;
    use aer::sparse::block_magnitude_prune;
    let spec = ModelSpec::load("cnn").unwrap();
    for (block, hidden_only) in [(8, false), (4, true)] {
        let mut m = Model::new(gpu(), &spec, [1, 28, 28], 10, 3).unwrap();
        let before = weights(&m);
        block_magnitude_prune(gpu(), &mut m, None, 0.75, Scope::Layer, block, hidden_only);
        let shapes: Vec<Vec<usize>> = m.params.iter().filter(|p| p.prunable()).map(|p| p.value.shape().to_vec()).collect();
        let last = shapes.len() - 1;
        for (li, (((name, b), (_, a)), shape)) in before.iter().zip(weights(&m)).zip(&shapes).enumerate() {
            if hidden_only && (li == 0 || li == last) {
                assert_eq!(b, &a, "{name}: the first and last layers stay dense");
                continue;
            }
            let (n, k) = matrix_shape(shape);
            let cols = k.div_ceil(block);
            let blocks = n.div_ceil(block) * cols;
            let (mut kept, mut pruned) = (vec![], vec![]);
            for blk in 0..blocks {
                let (r, q) = (blk / cols, blk % cols);
                let idx: Vec<usize> = (r * block..((r + 1) * block).min(n)).flat_map(|i| (q * block..((q + 1) * block).min(k)).map(move |j| i * k + j)).collect();
                let ms = idx.iter().map(|&i| (b[i] as f64).powi(2)).sum::<f64>() / idx.len() as f64;
                if idx.iter().all(|&i| a[i] == 0.0) {
                    pruned.push(ms);
                } else {
                    assert!(idx.iter().all(|&i| a[i] == b[i]), "{name}: block {blk} partly pruned");
                    kept.push(ms);
                }
            }
            assert_eq!(pruned.len(), (0.75 * blocks as f64).round() as usize, "{name}: pruned blocks");
            let (min_kept, max_pruned) = (kept.iter().cloned().fold(f64::INFINITY, f64::min), pruned.iter().cloned().fold(0.0, f64::max));
            assert!(kept.is_empty() || min_kept >= max_pruned, "{name}: kept block {min_kept} below pruned {max_pruned}");
        }
    }
}

/// A block-pruned model computes the same logits, parameter gradients and input gradient on
/// the block-sparse kernels as on the dense ones, and after an optimizer step (the blocks are
/// refreshed from the dense weights) still the same logits.
#[test]
fn block_sparse_kernels_match_the_dense_model() {
    use aer::kernels::tune::Crossover;
    use aer::sparse::block_magnitude_prune;
    let s = mnist(32);
    let spec = ModelSpec::load("cnn").unwrap();
    let cfg = config(OptimizerKind::Adam);
    // At 95% conv2 keeps blocks in only some of its patch rows, so it runs on restricted
    // im2col columns.
    for sparsity in [0.6, 0.95] {
    let build = |sparse: bool| {
        let mut m = Model::new(gpu(), &spec, s.train.shape, 10, 6).unwrap();
        let opt = Optimizer::new(gpu(), &cfg.optimizer, &m.params);
        block_magnitude_prune(gpu(), &mut m, Some(&opt), sparsity, Scope::Layer, 8, false);
        if sparse {
            let moved = block_on(m.use_block_sparse(gpu(), &Crossover::always())).unwrap();
            assert_eq!(moved.len(), 4, "every weight layer moves: {moved:?}");
        }
        (m, opt)
    };
    let (mut dense, mut dense_opt) = build(false);
    let (mut sparse, mut sparse_opt) = build(true);
    let (mut xs, mut ys) = (vec![], vec![]);
    s.train.gather(&(0..32).collect::<Vec<u32>>(), &mut xs, &mut ys);
    let x = gpu().upload(&xs, &[32, 1, 28, 28]);
    let y = gpu().upload_u32(&ys, &[32]);
    let close = |what: &str, a: &[f32], b: &[f32]| {
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        let worst = a.iter().zip(b).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
        assert!(worst <= 1e-4 * scale, "{what}: differs by {worst} (scale {scale})");
    };
    let step = |m: &mut Model, opt: &mut Optimizer| {
        let mut tape = m.tape();
        let logits = m.forward(gpu(), x.clone(), Some(&mut tape));
        let d = gpu().empty(logits.shape());
        let (loss, correct) = (gpu().empty(&[32]), gpu().empty_u32(&[32]));
        aer::kernels::softmax_xent(gpu(), &logits, &y, &d, &loss, &correct, 32, 10, 0);
        let dx = m.backward(gpu(), tape, d, true).unwrap();
        let grads: Vec<Vec<f32>> = m.params.iter().map(|p| block_on(gpu().read_f32(&p.grad)).unwrap()).collect();
        let out = (block_on(gpu().read_f32(&logits)).unwrap(), block_on(gpu().read_f32(&dx)).unwrap(), grads);
        opt.update(gpu(), &m.params, 1e-2);
        m.weights_changed(gpu());
        out
    };
    for round in 0..2 {
        let (la, dxa, ga) = step(&mut dense, &mut dense_opt);
        let (lb, dxb, gb) = step(&mut sparse, &mut sparse_opt);
        close(&format!("logits, step {round}"), &la, &lb);
        close(&format!("input gradient, step {round}"), &dxa, &dxb);
        for ((p, a), b) in dense.params.iter().zip(&ga).zip(&gb) {
            close(&format!("{} gradient, step {round}, sparsity {sparsity}", p.name), a, b);
        }
    }
    }
}

/// RigL and SET from scratch: random masks at the ERK densities, exactly as many active
/// weights per layer after every update, masks that actually move, pruned weights exactly zero,
/// and a model that still learns.
#[test]
fn dynamic_sparse_training_keeps_each_layers_count_and_moves_the_masks() {
    use aer::sparse::{DynamicMethod, DynamicSparseConfig};
    let s = mnist(1500);
    let spec = ModelSpec::load("mlp").unwrap();
    for method in [DynamicMethod::Rigl, DynamicMethod::Set] {
        let d = DynamicSparseConfig { sparsity: 0.9, method, update_every: 8, ..Default::default() };
        let cfg = TrainConfig { epochs: 2, schedule: LrSchedule::Cosine, ..config(OptimizerKind::Adam) }.with(&d);
        let mut m = Model::new(gpu(), &spec, s.train.shape, 10, 2).unwrap();
        let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &m.params);
        d.init_masks(gpu(), &mut m, Some(&opt), cfg.seed);
        let masks = |m: &Model| -> Vec<Vec<f32>> { m.params.iter().filter_map(|p| p.mask.as_ref()).map(|t| block_on(gpu().read_f32(t)).unwrap()).collect() };
        let start = masks(&m);
        let wanted: Vec<usize> = d.layer_sparsity(&m).iter().map(|&(i, sp)| m.params[i].value.numel() - (sp * m.params[i].value.numel() as f64).round() as usize).collect();
        let active = |v: &[f32]| v.iter().filter(|&&x| x != 0.0).count();
        assert_eq!(start.iter().map(|v| active(v)).collect::<Vec<_>>(), wanted, "{method:?}: initial masks");
        let mut acc = 0.0;
        for e in 0..cfg.epochs {
            acc = block_on(train_epoch(gpu(), &m, &mut opt, &s.train, &cfg, e, &mut aer::methods::REGISTRY.build(&cfg).unwrap(), &[], &mut |_, _| {})).unwrap().accuracy;
        }
        let end = masks(&m);
        assert_eq!(end.iter().map(|v| active(v)).collect::<Vec<_>>(), wanted, "{method:?}: every update keeps each layer's count");
        let moved: usize = start.iter().zip(&end).map(|(a, b)| a.iter().zip(b).filter(|(x, y)| x != y).count()).sum();
        assert!(moved > 0, "{method:?}: the masks never changed");
        for ((name, w), mask) in weights(&m).iter().zip(&end) {
            assert!(w.iter().zip(mask).all(|(w, m)| *m != 0.0 || *w == 0.0), "{method:?}: {name} has pruned weights that are not zero");
        }
        assert!(acc > 0.6, "{method:?}: training accuracy {acc}");
    }
}

/// Channel pruning removes whole output channels (rows of each weight matrix), exactly the
/// share asked for per layer, the ones of smallest mean square; N:M pruning keeps exactly N
/// of every M consecutive weights along each row, the largest.
#[test]
fn channel_and_nm_pruning_keep_their_structure() {
    use aer::sparse::{channel_prune, nm_prune};
    let spec = ModelSpec::load("cnn").unwrap();
    let mut m = Model::new(gpu(), &spec, [1, 28, 28], 10, 3).unwrap();
    let before = weights(&m);
    channel_prune(gpu(), &mut m, None, 0.5, Scope::Layer, true);
    let after = weights(&m);
    let shapes: Vec<Vec<usize>> = m.params.iter().filter(|p| p.prunable()).map(|p| p.value.shape().to_vec()).collect();
    for (l, ((name, w), (_, w0))) in after.iter().zip(&before).enumerate() {
        let rows = shapes[l][0];
        let k = w.len() / rows;
        let zero_rows: Vec<bool> = w.chunks(k).map(|r| r.iter().all(|&v| v == 0.0)).collect();
        if l == 0 || l == after.len() - 1 {
            assert!(w == w0, "{name}: hidden_only keeps the first and last layers whole");
            continue;
        }
        assert_eq!(zero_rows.iter().filter(|&&z| z).count(), rows / 2, "{name}: half of the channels go");
        // Every surviving row is untouched and scores at least every pruned one.
        let ms = |r: &[f32]| r.iter().map(|v| v * v).sum::<f32>() / r.len() as f32;
        let kept_min = w0.chunks(k).zip(&zero_rows).filter(|(_, z)| !**z).map(|(r, _)| ms(r)).fold(f32::INFINITY, f32::min);
        let pruned_max = w0.chunks(k).zip(&zero_rows).filter(|(_, z)| **z).map(|(r, _)| ms(r)).fold(0f32, f32::max);
        assert!(kept_min >= pruned_max, "{name}: kept {kept_min} < pruned {pruned_max}");
        for (r, (a, b)) in w.chunks(k).zip(w0.chunks(k)).enumerate() {
            assert!(zero_rows[r] || a == b, "{name}: row {r} changed");
        }
    }

    let mut m = Model::new(gpu(), &spec, [1, 28, 28], 10, 3).unwrap();
    nm_prune(gpu(), &mut m, None, 2, 4, false);
    for (((name, w), (_, w0)), shape) in weights(&m).iter().zip(&before).zip(&shapes) {
        let k = w.len() / shape[0];
        let groups = |v: &[f32]| v.chunks(k).flat_map(|row| row.chunks(4).map(|g| g.to_vec()).collect::<Vec<_>>()).collect::<Vec<_>>();
        for (g, g0) in groups(w).iter().zip(groups(w0)) {
            let kept: Vec<f32> = g.iter().copied().filter(|&v| v != 0.0).collect();
            assert_eq!(kept.len(), 2.min(g.len()), "{name}: 2:4 keeps two of every four");
            let smallest_kept = kept.iter().fold(f32::INFINITY, |a, v| a.min(v.abs()));
            assert!(g0.iter().zip(g).filter(|(_, v)| **v == 0.0).all(|(o, _)| o.abs() <= smallest_kept), "{name}: a pruned weight outweighs a kept one");
        }
    }
}

/// Train `m` (already masked) for `epochs` and return its validation accuracy.
fn train_masked(m: &Model, splits: &Splits, cfg: &TrainConfig, epochs: usize) -> f64 {
    let mut opt = Optimizer::new(gpu(), &cfg.optimizer, &m.params);
    for e in 0..epochs {
        block_on(train_epoch(gpu(), m, &mut opt, &splits.train, cfg, e, &mut aer::methods::REGISTRY.build(cfg).unwrap(), &[], &mut |_, _| {})).unwrap();
    }
    block_on(aer::train::evaluate(gpu(), m, &splits.val, 256)).unwrap().accuracy
}

#[test]
fn snip_prunes_exactly_by_sensitivity_and_beats_random_masks() {
    let splits = mnist(2000);
    let spec = common::mlp100();
    let cfg = TrainConfig { epochs: 3, ..config(OptimizerKind::Adam) };
    let sparsity = 0.97;
    let mut snip = Model::new(gpu(), &spec, [1, 28, 28], 10, 3).unwrap();
    block_on(aer::sparse::snip_prune(gpu(), &mut snip, None, &splits.train, 64, 2, 3, sparsity, Scope::Global)).unwrap();
    let w = weights(&snip);
    let (total, zeros) = w.iter().fold((0, 0), |(t, z), (_, v)| (t + v.len(), z + v.iter().filter(|&&x| x == 0.0).count()));
    assert_eq!(zeros, (sparsity * total as f64).round() as usize);
    // Pixels black in every training image have zero gradient in any batch: SNIP never keeps
    // their weights, which magnitude or random pruning would.
    let fc1 = &w.iter().find(|(n, _)| n == "fc1.weight").unwrap().1;
    let dead: Vec<usize> = (0..784).filter(|&p| splits.train.images.chunks(784).all(|im| im[p] == 0)).collect();
    assert!(dead.len() > 50, "{} always-black pixels", dead.len());
    assert!(dead.iter().all(|&p| (0..100).all(|r| fc1[r * 784 + p] == 0.0)), "SNIP kept weights of pixels with zero gradient");

    let mut random = Model::new(gpu(), &spec, [1, 28, 28], 10, 3).unwrap();
    let layers: Vec<(usize, f64)> = (0..random.params.len()).filter(|&i| random.params[i].prunable()).map(|i| (i, sparsity)).collect();
    aer::sparse::random_prune(gpu(), &mut random, None, &layers, 3);
    let (a_snip, a_random) = (train_masked(&snip, &splits, &cfg, 3), train_masked(&random, &splits, &cfg, 3));
    assert!(a_snip > a_random, "SNIP {a_snip} vs random {a_random} at {sparsity}");
}

/// Winners-take-all: the layer passes exactly the `keep` units of largest magnitude per
/// example (the logits and the input gradient match a plain computation), a cnn with WTA after
/// each ReLU fine-tunes from the dense checkpoint's weights and learns, and the cost report
/// counts the multiply-adds the kept channels need.
#[test]
fn winners_take_all_keeps_the_strongest_channels_and_trains() {
    use rand::{Rng, SeedableRng};
    let text = "name = \"wta-probe\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"wta\"\nsparsity = 0.75\n[[layers]]\ntype = \"linear\"\n";
    let spec = ModelSpec::from_toml(text, "probe").unwrap();
    let model = Model::new(gpu(), &spec, [1, 4, 4], 3, 1).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let (n, d) = (5, 16);
    let x: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let mut tape = model.tape();
    let logits = block_on(gpu().read_f32(&model.forward(gpu(), gpu().upload(&x, &[n, 1, 4, 4]), Some(&mut tape)))).unwrap();
    let (w, b) = (block_on(gpu().read_f32(&model.params[0].value)).unwrap(), block_on(gpu().read_f32(&model.params[1].value)).unwrap());
    let dy: Vec<f32> = (0..n * 3).map(|i| (i % 4) as f32 - 1.5).collect();
    let dx = block_on(gpu().read_f32(&model.backward(gpu(), tape, gpu().upload(&dy, &[n, 3]), true).unwrap())).unwrap();
    for e in 0..n {
        let row = &x[e * d..(e + 1) * d];
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| row[b].abs().total_cmp(&row[a].abs()));
        let kept = &order[..4];
        for o in 0..3 {
            let want: f32 = b[o] + kept.iter().map(|&j| w[o * d + j] * row[j]).sum::<f32>();
            assert!((logits[e * 3 + o] - want).abs() < 1e-5, "example {e}, logit {o}: {} vs {want}", logits[e * 3 + o]);
        }
        for j in 0..d {
            let want = if kept.contains(&j) { (0..3).map(|o| w[o * d + j] * dy[e * 3 + o]).sum::<f32>() } else { 0.0 };
            assert!((dx[e * d + j] - want).abs() < 1e-5, "example {e}, input {j}: gradient {} vs {want}", dx[e * d + j]);
        }
    }

    // cnn with WTA at 50% after each ReLU, from a dense checkpoint's weights.
    let data = mnist(1200);
    let cnn = ModelSpec::load("cnn").unwrap();
    let wta = cnn.with_wta(0.5);
    assert_eq!(wta.layers.iter().filter(|l| matches!(l, aer::nn::LayerSpec::Wta { sparsity } if *sparsity == 0.5)).count(), 3);
    let dense_dir = common::tmpdir("wta-dense");
    let cfg = TrainConfig { epochs: 1, ..config(OptimizerKind::Adam) };
    block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &data, &cnn, &cfg, &dense_dir, &Default::default(), &mut |_| {})).unwrap();
    let opts = aer::train::FitOptions { init: Some(dense_dir.join("best.safetensors")), ..Default::default() };
    let r = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &data, &wta, &cfg, &common::tmpdir("wta"), &opts, &mut |_| {})).unwrap();
    assert!(r.test_accuracy > 0.8, "cnn with WTA at 50%: test accuracy {}", r.test_accuracy);
    let (model, _) = Checkpoint::load(&r.best_path).unwrap().restore(gpu()).unwrap();
    let rep = block_on(sparsity_report(gpu(), &model)).unwrap();
    // conv2, fc1 and fc2 read half their input channels; conv1 reads the image.
    let conv1 = model.params[0].value.numel() * 28 * 28;
    let want = conv1 + (rep.sparse_macs - conv1) / 2;
    assert!((rep.activation_sparse_macs as f64 - want as f64).abs() < 2.0, "{} MACs after activation sparsity, {want} expected", rep.activation_sparse_macs);

    // Inference skips the dropped channels (every weight layer after a WTA for a few
    // examples, the convolution alone for a batch) and computes what all channels give.
    let mut model = model;
    let max_batch = model.cutoffs().skip_linear_max_batch;
    for n in [max_batch.clamp(1, 3), 2 * max_batch + 1] {
        let (mut images, mut labels) = (Vec::new(), Vec::new());
        data.test.gather(&(0..n as u32).collect::<Vec<_>>(), &mut images, &mut labels);
        let x = gpu().upload(&images, &[n, 1, 28, 28]);
        model.use_channel_skip(false);
        let all = block_on(gpu().read_f32(&model.forward(gpu(), x.clone(), None))).unwrap();
        assert_eq!(model.executed_weights_macs(n), rep.sparse_macs);
        model.use_channel_skip(true);
        let skipped = block_on(gpu().read_f32(&model.forward(gpu(), x, None))).unwrap();
        let scale = all.iter().fold(1f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in all.iter().zip(&skipped).enumerate() {
            assert!((a - b).abs() <= 1e-5 * scale, "batch {n}, logit {i}: {b} skipping dropped channels, {a} with all");
        }
        let conv2 = model.params[2].value.numel() * 14 * 14;
        let want = if n <= max_batch { rep.activation_sparse_macs } else { rep.sparse_macs - conv2 / 2 };
        assert!((model.executed_weights_macs(n) as f64 - want as f64).abs() < 2.0, "batch {n}: {} MACs executed, {want} expected", model.executed_weights_macs(n));
    }

    // Training and attacks skip them in conv2 too, forward and backward: the logits, the input
    // gradient and every parameter gradient are those all channels give.
    let n = 6;
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    data.test.gather(&(0..n as u32).collect::<Vec<_>>(), &mut images, &mut labels);
    let x = gpu().upload(&images, &[n, 1, 28, 28]);
    let dy: Vec<f32> = (0..n * 10).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
    let mut runs = Vec::new();
    for skip in [false, true] {
        model.use_channel_skip(skip);
        let mut tape = model.tape();
        let logits = model.forward(gpu(), x.clone(), Some(&mut tape));
        let dx = model.backward(gpu(), tape, gpu().upload(&dy, &[n, 10]), true).unwrap();
        let mut out = vec![block_on(gpu().read_f32(&logits)).unwrap(), block_on(gpu().read_f32(&dx)).unwrap()];
        out.extend(model.params.iter().map(|p| block_on(gpu().read_f32(&p.grad)).unwrap()));
        runs.push(out);
    }
    for (i, (all, skipped)) in runs[0].iter().zip(&runs[1]).enumerate() {
        let what = match i { 0 => "logits".to_string(), 1 => "input gradient".to_string(), _ => format!("gradient of {}", model.params[i - 2].name) };
        let scale = all.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
        for (j, (a, b)) in all.iter().zip(skipped).enumerate() {
            assert!((a - b).abs() <= 1e-4 * scale, "{what}[{j}]: {b} skipping dropped channels, {a} with all");
        }
    }
}

/// Joint pruning of weights and activations (JPnet): activation thresholds after the ReLUs
/// learn the quantile that zeroes their target share while gradual magnitude pruning prunes
/// the weights; the thresholds survive a checkpoint, and a dense checkpoint may start them.
#[test]
fn activation_thresholds_learn_their_sparsity_beside_weight_pruning() {
    let mut spec = ModelSpec::load("mlp").unwrap();
    let mut layers = Vec::new();
    for l in &spec.layers {
        layers.push(l.clone());
        if *l == aer::nn::LayerSpec::Relu {
            layers.push(aer::nn::LayerSpec::Threshold { sparsity: 0.85, l1: 0.1 });
        }
    }
    spec.layers = layers;
    spec.name = "mlp-jp".into();
    let data = mnist(2000);
    let cfg = TrainConfig {
        epochs: 2,
        methods: [("prune".to_string(), serde_json::to_value(aer::sparse::GradualPrune { sparsity: 0.8, ramp_epochs: 1, scope: Scope::Global }).unwrap())].into(),
        ..config(OptimizerKind::Sgd)
    };
    let dir = common::tmpdir("jpnet");
    let r = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &data, &spec, &cfg, &dir, &Default::default(), &mut |_| {})).unwrap();
    assert!(r.test_accuracy > 0.7, "mlp with activation thresholds at 85% and 80% of weights pruned: test accuracy {}", r.test_accuracy);
    let (model, _) = Checkpoint::load(&r.best_path).unwrap().restore(gpu()).unwrap();
    let theta: Vec<f32> = model.params.iter().filter(|p| p.name.ends_with(".threshold")).map(|p| block_on(gpu().read_f32(&p.value)).unwrap()[0]).collect();
    assert_eq!(theta.len(), 2);
    assert!(theta.iter().all(|&t| t > 0.0), "thresholds {theta:?} were not learned (or not saved)");
    let rep = block_on(sparsity_report(gpu(), &model)).unwrap();
    assert!((rep.sparsity - 0.8).abs() < 0.01, "weight sparsity {}", rep.sparsity);
    // The layers after the thresholds see about 15% nonzero inputs on held-out images.
    let (mut x, mut y) = (Vec::new(), Vec::new());
    data.test.gather(&(0..256).collect::<Vec<_>>(), &mut x, &mut y);
    let d = block_on(model.input_densities(gpu(), gpu().upload(&x, &[256, 1, 28, 28]))).unwrap();
    assert!(d["fc1.weight"] > 0.1, "fc1 reads the image: {} nonzero", d["fc1.weight"]);
    for name in ["fc2.weight", "fc3.weight"] {
        assert!((d[name] - 0.15).abs() < 0.07, "{name}: {:.3} of its inputs nonzero, about 0.15 expected", d[name]);
    }
    // From a dense checkpoint, the thresholds start at 0: no activation is cut yet.
    let dense_dir = common::tmpdir("jpnet-dense");
    let dense = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &data, &ModelSpec::load("mlp").unwrap(), &TrainConfig { epochs: 1, ..config(OptimizerKind::Sgd) }, &dense_dir, &Default::default(), &mut |_| {})).unwrap();
    let mut ck = Checkpoint::load(&dense.best_path).unwrap();
    ck.spec = spec.clone();
    let (started, _) = ck.restore(gpu()).unwrap();
    let fresh = block_on(started.input_densities(gpu(), gpu().upload(&x, &[256, 1, 28, 28]))).unwrap();
    let (plain, _) = Checkpoint::load(&dense.best_path).unwrap().restore(gpu()).unwrap();
    let relu_only = block_on(plain.input_densities(gpu(), gpu().upload(&x, &[256, 1, 28, 28]))).unwrap();
    assert_eq!(fresh["fc2.weight"], relu_only["fc2.weight"]);
}
