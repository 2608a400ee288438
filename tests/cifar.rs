//! The CIFAR-10 path end to end on a small synthetic file in the binary format (the real one
//! cannot be downloaded here): the reader, augmentation, PreAct ResNet-18's forward and
//! backward passes with batch normalization and residual blocks, PGD adversarial training
//! at 8/255 with the usual recipe, and an attack of the result.

mod common;

use common::{aer, tmpdir};

#[test]
fn preact_resnet18_trains_adversarially_on_cifar_batches() {
    let dir = tmpdir("cifar");
    let data = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&data).unwrap();
    // Records: a label byte, then 3,072 pixels (red, green, blue planes).
    let records = |n: u32, seed: u32| -> Vec<u8> {
        (0..n).flat_map(|i| std::iter::once((i % 10) as u8).chain((0..3072u32).map(move |p| ((p * 7 + i * 131 + seed) % 256) as u8))).collect()
    };
    // Few images: an 11 M-parameter network on a CPU adapter.
    std::fs::write(data.join("data_batch_1.bin"), records(12, 1)).unwrap();
    std::fs::write(data.join("test_batch.bin"), records(4, 2)).unwrap();
    let out = dir.join("run");
    let (ok, text) = aer(&[
        "train", "--data", dir.to_str().unwrap(), "--val-size", "2", "--model", "preact-resnet18",
        "--config", concat!(env!("CARGO_MANIFEST_DIR"), "/assets/configs/cifar10-sgd.toml"),
        "--epochs", "2", "--milestones", "1", "--batch-size", "10",
        "--adv", "pgd", "--adv-eps", "8/255", "--adv-step", "2/255", "--adv-steps", "2", "--adv-val-examples", "0",
        "--out", out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("[3, 32, 32]") && text.contains("preact-resnet18"), "{text}");
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let epochs = metrics["history"].as_array().unwrap_or_else(|| panic!("{metrics}"));
    assert_eq!(epochs.len(), 2);
    assert!(epochs.iter().all(|e| e["train_loss"].as_f64().unwrap().is_finite()), "{metrics}");
    assert_eq!(metrics["config"]["augment"]["crop"], 4);
    let (ok, text) = aer(&[
        "attack", "--data", dir.to_str().unwrap(), "--val-size", "2", "--checkpoint", out.join("best.safetensors").to_str().unwrap(),
        "--eps", "8/255", "--attacks", "fgsm", "--n", "4", "--curve", "--distance-n", "0", "--out", dir.join("attack").to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(dir.join("attack/best-attack/robustness.json").exists(), "{text}");
}
