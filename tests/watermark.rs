//! The ownership watermark: keys give the same triggers and labels everywhere (a test vector
//! computed apart from aer, with Python's hashlib), bad key files and mismatched models are
//! refused, a model trained with a key's triggers is shown to carry them and one trained
//! without them is not.

mod common;

use aer::watermark::{log10_upper_tail, trigger_image, trigger_label, triggers, verify, WatermarkConfig, WatermarkKey, WatermarkRecord, DEFAULT_ALPHA};
use common::{adam_config, aer, aer_command, gpu, mlp100, mnist_head, tmpdir};
use pollster::block_on;
use sha2::{Digest, Sha256};
use std::path::Path;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The key 00 01 02 ... 1f.
fn counting_key() -> WatermarkKey {
    WatermarkKey::new(std::array::from_fn(|i| i as u8))
}

#[test]
fn keys_give_the_documented_triggers_and_labels() {
    // docs/watermark.md lists these values; they were computed with Python's hashlib.
    let key = counting_key();
    assert_eq!(key.id(), "fde08c23e49546c71fda959723c73d7e628a86645f1601fa0c880eecfbd13f87");
    let labels: Vec<u32> = (0..16).map(|i| trigger_label(&key, i, 10)).collect();
    assert_eq!(labels, [2, 6, 1, 2, 7, 1, 0, 1, 2, 2, 7, 9, 8, 3, 6, 1]);
    let labels: Vec<u32> = (0..8).map(|i| trigger_label(&key, i, 100)).collect();
    assert_eq!(labels, [92, 56, 11, 32, 77, 81, 20, 71]);
    let first = trigger_image(&key, 0, 784);
    assert_eq!(hex(&first[..16]), "789a923196bae5d64eb05dfdffee7106");
    assert_eq!(hex(&Sha256::digest(&first)), "c8b334dfb9a79cbb0135b92dcc087d11d3db782dde221b7d12776a79e07e464e");
    assert_eq!(hex(&Sha256::digest(trigger_image(&key, 1, 3 * 32 * 32))), "7359846b9ec55ddfbca94325c7bf0e93f14bc480a6ba970abbfa897dec5e5016");
    let set = triggers(&key, 100, [1, 28, 28], 10).unwrap();
    assert_eq!(hex(&Sha256::digest(&set.images)), "e06f77c80855d8f413c86d0647870f13e1b748c46edca2b4ed1d7de13065678b");
    assert_eq!(set.labels[..16].iter().map(|&l| l as u32).collect::<Vec<_>>(), [2, 6, 1, 2, 7, 1, 0, 1, 2, 2, 7, 9, 8, 3, 6, 1]);
    // Another key, other triggers.
    let mut other = *key.bytes();
    other[31] ^= 1;
    assert_ne!(trigger_image(&WatermarkKey::new(other), 0, 784), first);
}

#[test]
fn bad_key_files_and_mismatched_models_are_refused() {
    let p = Path::new("k");
    let short = WatermarkKey::from_file_bytes(&[7u8; 31], p).unwrap_err().to_string();
    assert!(short.contains("exactly 32 bytes") && short.contains("31") && short.contains("truncated"), "{short}");
    let hexed = WatermarkKey::from_file_bytes(format!("{}\n", "ab".repeat(32)).as_bytes(), p).unwrap_err().to_string();
    assert!(hexed.contains("hex digits") && hexed.contains("xxd -r -p"), "{hexed}");
    assert!(WatermarkKey::load(Path::new("/nonexistent/owner.key")).unwrap_err().to_string().contains("cannot read the watermark key"));

    let key = counting_key();
    let rec = WatermarkRecord::new(&key, 100, [1, 28, 28], 10, 0.1);
    let (r, ck) = (Path::new("watermark.json"), Path::new("cifar.safetensors"));
    assert!(rec.check(r, &key, ck, [1, 28, 28], 10).is_ok());
    let shape = rec.check(r, &key, ck, [3, 32, 32], 10).unwrap_err().to_string();
    assert!(shape.contains("another architecture") && shape.contains("[3, 32, 32]") && shape.contains("[1, 28, 28]"), "{shape}");
    assert!(rec.check(r, &key, ck, [1, 28, 28], 100).is_err());
    let mut other = *key.bytes();
    other[0] ^= 0xff;
    assert!(rec.check(r, &WatermarkKey::new(other), ck, [1, 28, 28], 10).unwrap_err().to_string().contains("key given has id"));
}

#[test]
fn a_watermarked_model_is_shown_and_an_independent_one_is_not() {
    let dir = tmpdir("watermark-fit");
    let key_path = dir.join("owner.key");
    std::fs::write(&key_path, counting_key().bytes()).unwrap();
    let splits = mnist_head(2000, 200);
    let spec = mlp100();
    let n = 20;
    let run = |cfg: &aer::train::TrainConfig, out: &str| {
        let r = block_on(aer::train::fit(gpu(), &aer::methods::REGISTRY, &splits, &spec, cfg, &dir.join(out), &Default::default(), &mut |_| {})).unwrap();
        let (model, _) = aer::train::Checkpoint::load(&r.best_path).unwrap().restore(gpu()).unwrap();
        (r, block_on(verify(gpu(), &model, &counting_key(), n, DEFAULT_ALPHA)).unwrap())
    };
    let clean_cfg = adam_config(4, 3e-3, 1);
    let marked_cfg = clean_cfg.clone().with(&WatermarkConfig { key: key_path.clone(), triggers: n, share: 0.25 });
    let (clean_fit, clean) = run(&clean_cfg, "clean");
    let (marked_fit, marked) = run(&marked_cfg, "marked");

    assert_eq!((marked.triggers, marked.classes, marked.input), (n, 10, [1, 28, 28]));
    assert!(marked.watermarked && marked.match_rate >= 0.9, "watermarked model: {marked:?}");
    assert!((marked.log10_p_value - log10_upper_tail(n as u64, marked.matches as u64, 0.1)).abs() < 1e-12);
    assert!(!clean.watermarked && clean.log10_p_value > -3.0 && clean.match_rate < 0.5, "independent model: {clean:?}");
    // The task is still learnt with a quarter of each batch given to triggers.
    assert!(marked_fit.test_accuracy > 0.8 && clean_fit.test_accuracy > 0.8, "{} {}", marked_fit.test_accuracy, clean_fit.test_accuracy);
    // The checkpoint keeps the key's path, never the key.
    let ck = aer::train::Checkpoint::load(&marked_fit.best_path).unwrap();
    let stored = serde_json::to_string(&ck.config).unwrap();
    assert!(stored.contains("owner.key") && !stored.contains(&hex(counting_key().bytes())));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keygen_writes_fresh_keys_and_verify_refuses_a_truncated_one() {
    let dir = tmpdir("watermark-cli");
    let key = dir.join("owner.key");
    let out = aer_command(&["watermark", "keygen", "--key", key.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = std::fs::read(&key).unwrap();
    assert_eq!(first.len(), 32);
    let again = aer_command(&["watermark", "keygen", "--key", key.to_str().unwrap()]).output().unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = aer_command(&["watermark", "keygen", "--key", key.to_str().unwrap(), "--force"]).output().unwrap();
    assert!(forced.status.success());
    assert_ne!(std::fs::read(&key).unwrap(), first, "two keys from the operating system's randomness");

    std::fs::write(&key, &first[..20]).unwrap();
    let v = aer_command(&["watermark", "verify", "--key", key.to_str().unwrap(), "--checkpoint", "assets/models/none.safetensors"]).output().unwrap();
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(!v.status.success() && err.contains("exactly 32 bytes, this file has 20"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_pipeline_embeds_and_checks_and_the_report_shows_it() {
    let dir = tmpdir("watermark-pipeline");
    let key = dir.join("owner.key");
    std::fs::write(&key, counting_key().bytes()).unwrap();
    let k = key.to_str().unwrap();
    let file = dir.join("p.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"wm\"\ntrain_examples = 2000\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = 3\nbatch_size = 64\n[stages.train.optimizer]\nlr = 0.003\n[stages.train.watermark]\nkey = \"{k}\"\ntriggers = 20\nshare = 0.25\n[[stages]]\nkind = \"watermark\"\nkey = \"{k}\"\ntriggers = 20\n"
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let (ok, text) = aer(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(ok && text.contains("triggers match the key") && text.contains("watermarked"), "{text}");
    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["watermark"]["watermarked"], true, "{summary}");
    let (ok, text) = aer(&["report", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(md.contains("watermark match %") && md.contains("watermark log10 p"), "{md}");

    // A bad key is refused before any stage runs.
    std::fs::write(&key, [1u8; 16]).unwrap();
    let (ok, text) = aer(&["run", file.to_str().unwrap(), "--out", dir.join("bad").to_str().unwrap()]);
    assert!(!ok && text.contains("exactly 32 bytes, this file has 16"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
