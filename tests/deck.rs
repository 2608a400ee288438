//! CARD-Decks: the gate picks the member whose augmentation a batch carries (and for a clean
//! batch the member whose signature is nearest zero), members must read one input and predict
//! one set of classes, and `aer deck build | eval` end to end on two tiny members with their
//! bad inputs refused.

mod common;

use aer::deck::{build_deck, spectra::mean_spectrum, DeckFile, Gate, TrainedAugmentation};
use aer::methods::augmix::Augmix;
use aer::methods::gaussian_noise::GaussianNoise;
use aer::nn::{Model, ModelSpec};
use aer::train::{Checkpoint, Optimizer, TrainConfig};
use common::{aer, fails_with, gpu, mnist_head, mlp100, tmpdir, write_idx_data};
use pollster::block_on;
use serde_json::Value;
use std::path::PathBuf;

/// An untrained checkpoint of `spec` for `input` images of `classes` classes whose config
/// names `cfg`'s augmentation: all the gate reads of a member.
fn member(spec: &ModelSpec, input: [usize; 3], classes: usize, cfg: &TrainConfig) -> Checkpoint {
    let model = Model::new(gpu(), spec, input, classes, 1).unwrap();
    let opt = Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    block_on(Checkpoint::capture(gpu(), &model, &opt, cfg, 0, &[])).unwrap()
}

#[test]
fn the_gate_picks_the_member_of_the_batch_augmentation() {
    let s = mnist_head(600, 400);
    let spec = mlp100();
    let clean = TrainConfig::default();
    let configs = [clean.clone(), clean.clone().with(&GaussianNoise { sigma: 0.3 }), clean.clone().with(&Augmix::default())];
    let members: Vec<(PathBuf, Checkpoint)> = configs.iter().enumerate().map(|(i, c)| (PathBuf::from(format!("m{i}.safetensors")), member(&spec, s.train.shape, s.classes, c))).collect();
    let deck = block_on(build_deck(gpu(), &members, &s.val, s.classes, "mnist-10k", 3)).unwrap();
    assert_eq!(deck.members.iter().map(|m| m.augmentation.label()).collect::<Vec<_>>(), ["none", "gaussian_noise", "augmix"]);
    assert!(deck.members[0].signature.iter().all(|v| *v == 0.0), "clean training has a zero signature");
    let size = |v: &[f32]| aer::deck::gate::distance(v, &vec![0.0; v.len()]);
    assert!(size(&deck.members[1].signature) > size(&deck.members[2].signature) && size(&deck.members[2].signature) > 0.0, "noise moves the spectrum most, AugMix some");
    let signatures: Vec<&[f32]> = deck.members.iter().map(|m| m.signature.as_slice()).collect();

    // Batches of training images (not the validation images the spectra came from), each
    // augmented as one member trained; another seed than the deck's.
    let batch = s.train.head(256);
    for (i, m) in deck.members.iter().enumerate() {
        let spectrum = block_on(mean_spectrum(gpu(), &batch, &|x, shape, _| m.augmentation.apply(gpu(), x, shape, 99))).unwrap();
        let d = aer::deck::gate::distances(&aer::deck::gate::batch_signature(&spectrum, &deck.clean), &signatures);
        assert_eq!(Gate::Top1.weights(&d)[i], 1.0, "a batch of member {i}'s augmentation ({}) picks it; distances {d:?}", m.augmentation.label());
        let soft = Gate::Soft(0.05).weights(&d);
        assert!((0..3).all(|j| soft[i] >= soft[j]), "soft weights favour it too: {soft:?}");
    }
    // With no clean member, a clean batch picks the signature nearest zero (AugMix's).
    let (noise, augmix) = (&deck.members[1], &deck.members[2]);
    let spectrum = block_on(mean_spectrum(gpu(), &batch, &|x, _, _| gpu().duplicate(x))).unwrap();
    let d = aer::deck::gate::distances(&aer::deck::gate::batch_signature(&spectrum, &deck.clean), &[&noise.signature, &augmix.signature]);
    assert_eq!(Gate::Top1.weights(&d), [0.0, 1.0], "a clean batch picks the member nearest zero; distances {d:?}");
}

#[test]
fn members_must_share_input_and_classes() {
    let s = mnist_head(64, 64);
    let cfg = TrainConfig::default();
    let cnn = ModelSpec::load("cnn").unwrap();
    // Architectures may differ.
    let mixed = vec![(PathBuf::from("a"), member(&mlp100(), s.train.shape, 10, &cfg)), (PathBuf::from("b"), member(&cnn, s.train.shape, 10, &cfg))];
    assert!(block_on(build_deck(gpu(), &mixed, &s.val, 10, "x", 0)).is_ok());
    let classes = vec![(PathBuf::from("a.safetensors"), member(&mlp100(), s.train.shape, 10, &cfg)), (PathBuf::from("b.safetensors"), member(&mlp100(), s.train.shape, 5, &cfg))];
    let e = block_on(build_deck(gpu(), &classes, &s.val, 10, "x", 0)).unwrap_err().to_string();
    assert!(e.contains("a.safetensors") && e.contains("b.safetensors") && e.contains("class count"), "{e}");
    let shapes = vec![(PathBuf::from("a.safetensors"), member(&mlp100(), s.train.shape, 10, &cfg)), (PathBuf::from("c.safetensors"), member(&mlp100(), [1, 8, 8], 10, &cfg))];
    let e = block_on(build_deck(gpu(), &shapes, &s.val, 10, "x", 0)).unwrap_err().to_string();
    assert!(e.contains("input shape"), "{e}");
    assert!(block_on(build_deck(gpu(), &[], &s.val, 10, "x", 0)).unwrap_err().to_string().contains("at least one"));
    assert_eq!(TrainedAugmentation::of(&cfg).unwrap(), TrainedAugmentation::None);
}

fn json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn ok(args: &[&str]) -> String {
    let (success, text) = aer(args);
    assert!(success, "aer {args:?} failed:\n{text}");
    text
}

#[test]
fn deck_build_and_eval_end_to_end() {
    let d = tmpdir("deck-cli");
    // 600 training and 100 test digits of the bundled subset as a data directory.
    let s = mnist_head(600, 0);
    let test = common::mnist().test.head(100);
    let data = d.join("data");
    write_idx_data(&data, [28, 28], (&s.train.images, &s.train.labels), (&test.images, &test.labels));
    let ds = data.to_str().unwrap();
    let noise = d.join("noise.toml");
    std::fs::write(&noise, "[train.gaussian_noise]\nsigma = 0.4\n").unwrap();
    let train_on = |name: &str, data: &str, val: &str, extra: &[&str]| {
        let out = d.join(name);
        let mut args = vec!["train", "--data", data, "--val-size", val, "--epochs", "1", "--out", out.to_str().unwrap()];
        args.extend(extra);
        ok(&args);
        out.join("best.safetensors")
    };
    let train = |name: &str, extra: &[&str]| train_on(name, ds, "200", extra);
    let (a, b) = (train("augmix", &["--augmix"]), train("noise", &["--config", noise.to_str().unwrap()]));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let deck_dir = d.join("deck");
    ok(&["deck", "build", "--member", a, "--member", b, "--data", ds, "--val-size", "200", "--out", deck_dir.to_str().unwrap()]);
    let deck_file = deck_dir.join("deck.toml");
    let deck = DeckFile::load(&deck_file).unwrap();
    assert_eq!((deck.validation_images, deck.members.len()), (200, 2));
    let out = d.join("eval");
    let text = ok(&["deck", "eval", "--deck", deck_file.to_str().unwrap(), "--corruptions", "shot_noise,brightness", "--severities", "1,5", "--n", "50", "--reference", a, "--out", out.to_str().unwrap()]);
    assert!(text.contains("member 1 (gaussian_noise)"), "{text}");
    let r = json(&out.join("deck.json"));
    let conditions = r["conditions"].as_array().unwrap();
    assert_eq!(conditions.len(), 1 + 2 * 2, "clean, then 2 corruptions x 2 severities");
    assert_eq!((conditions[0]["corruption"].as_str(), conditions[4]["corruption"].as_str(), conditions[4]["severity"].as_u64()), (Some("clean"), Some("brightness"), Some(5)));
    for c in conditions {
        let w: Vec<f64> = c["gate_weights"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9 && w.len() == 2, "{c}");
        let chosen = c["chosen"].as_u64().unwrap() as usize;
        // Top1 with one gate batch of 50: the deck is its chosen member.
        assert_eq!(c["deck"], c["members"][chosen], "{c}");
        // The reference is member 0's checkpoint: the same accuracy.
        assert_eq!(c["reference"], c["members"][0], "{c}");
        assert!((0.0..=1.0).contains(&c["deck"].as_f64().unwrap()));
    }
    let bytes: Vec<u64> = r["members"].as_array().unwrap().iter().map(|m| m["bytes"].as_u64().unwrap()).collect();
    assert_eq!(r["deck"]["bytes"].as_u64(), Some(bytes.iter().sum()));
    assert_eq!(r["dense_bytes"].as_u64(), Some(bytes[0]));
    assert_eq!(r["deck_smaller_than_dense"], false, "two dense members outweigh one");
    assert_eq!(r["members"][0]["augmentation"], "augmix");
    // A soft gate weights both members.
    ok(&["deck", "eval", "--deck", deck_file.to_str().unwrap(), "--corruptions", "shot_noise", "--severities", "5", "--n", "50", "--gate", "soft", "1000", "--out", out.to_str().unwrap()]);
    let soft = json(&out.join("deck.json"));
    assert!(soft["conditions"][1]["gate_weights"].as_array().unwrap().iter().all(|w| w.as_f64().unwrap() > 0.1), "{}", soft["conditions"][1]);
    // The AER report tabulates the deck, its members and the reference.
    ok(&["report", out.to_str().unwrap()]);
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(md.contains("## CARD-Deck") && md.contains("deck (2 members)") && md.contains("member 1: mlp (gaussian_noise)"), "{md}");

    // Bad input: an empty deck, a missing checkpoint, another data set's deck, a bad gate.
    let bad = d.join("bad.toml");
    let text = std::fs::read_to_string(&deck_file).unwrap();
    std::fs::write(&bad, text.split("[[members]]").next().unwrap().to_string() + "members = []\n").unwrap();
    fails_with(&["deck", "eval", "--deck", bad.to_str().unwrap()], &["bad.toml", "no members"]);
    std::fs::write(&bad, text.replace(a, "/nonexistent/gone.safetensors")).unwrap();
    fails_with(&["deck", "eval", "--deck", bad.to_str().unwrap()], &["gone.safetensors", "does not exist"]);
    fails_with(&["deck", "eval", "--deck", deck_file.to_str().unwrap(), "--gate", "topk"], &["--gate topk", "K"]);
    fails_with(&["deck", "eval", "--deck", deck_file.to_str().unwrap(), "--corruptions", "snow"], &["snow", "CIFAR-10-C"]);
    // A member of 8x8 images beside one of 28x28.
    let small = d.join("small-data");
    let labels: Vec<u8> = (0..20).map(|i| i % 10).collect();
    write_idx_data(&small, [8, 8], (&[100u8; 64 * 20], &labels), (&[100u8; 64 * 10], &labels[..10]));
    let other = train_on("small", small.to_str().unwrap(), "5", &[]);
    fails_with(&["deck", "build", "--member", a, "--member", other.to_str().unwrap(), "--data", ds, "--out", deck_dir.to_str().unwrap()], &["input shape", "small"]);
}
