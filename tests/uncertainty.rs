//! Calibration, ensembles and out-of-distribution detection through the `aer` binary: eval's
//! calibration figures, JSON and reliability diagram; calibrate's temperature (stored,
//! reloaded, validation NLL not worse); ensembles of shipped models; Monte Carlo dropout and
//! test-time augmentation; ood against generated noise; the report's table; and the bad
//! inputs (mismatched ensembles, another input shape, a model without dropout).

mod common;

use aer::train::Checkpoint;
use common::{aer, tmpdir, write_idx_data};
use serde_json::Value;
use std::path::{Path, PathBuf};

const MLP: &str = "assets/models/mlp-demo.safetensors";
const CNN: &str = "assets/models/cnn-adam-s0.safetensors";
const CNN_PRUNED: &str = "assets/models/cnn-b16-s0.91.safetensors";

fn ok(args: &[&str]) -> String {
    let (success, text) = aer(args);
    assert!(success, "aer {args:?} failed:\n{text}");
    text
}

fn fails_with(args: &[&str], needles: &[&str]) {
    let (success, text) = aer(args);
    assert!(!success, "aer {args:?} should fail:\n{text}");
    for n in needles {
        assert!(text.contains(n), "aer {args:?}: expected '{n}' in:\n{text}");
    }
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// A calibration object's four figures, each in its range.
fn check_metrics(c: &Value) -> [f64; 4] {
    let f = |k: &str| c[k].as_f64().unwrap_or_else(|| panic!("no '{k}' in {c}"));
    let m = [f("accuracy"), f("ece"), f("nll"), f("brier")];
    assert!((0.0..=1.0).contains(&m[0]) && (0.0..=1.0).contains(&m[1]) && m[2] >= 0.0 && (0.0..=2.0).contains(&m[3]), "{c}");
    m
}

/// Uniform noise images of h x w pixels, labelled 0..10 in turn: (pixels, labels).
fn noise(n: usize, [h, w]: [u32; 2], seed: u32) -> (Vec<u8>, Vec<u8>) {
    let mut s = seed;
    let pixels = (0..n * (h * w) as usize)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect();
    (pixels, (0..n).map(|i| (i % 10) as u8).collect())
}

fn noise_dir(d: &Path, side: u32) -> PathBuf {
    let dir = d.join(format!("noise{side}"));
    let (train, test) = (noise(20, [side, side], 1), noise(100, [side, side], 2));
    write_idx_data(&dir, [side, side], (&train.0, &train.1), (&test.0, &test.1));
    dir
}

#[test]
fn eval_reports_calibration_with_json_and_a_reliability_diagram() {
    let d = tmpdir("uncertainty-eval");
    let out = d.to_str().unwrap();
    let text = ok(&["eval", "--checkpoint", MLP, "--out", out, "--reliability"]);
    assert!(text.contains("test accuracy: 94.54%") && text.contains("ECE") && text.contains("Brier"), "{text}");
    let r = json(&d.join("mlp-demo-eval.json"));
    let [acc, ece, ..] = check_metrics(&r["calibration"]);
    assert!((acc - 0.9454).abs() < 1e-3, "accuracy {acc}");
    assert!(ece > 0.0, "a trained model is not calibrated to the last digit");
    assert!(r["temperature"].is_null() && r["combined"].is_null());
    let bins = r["reliability"].as_array().unwrap();
    assert_eq!(bins.len(), 15);
    assert_eq!(bins.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(), r["examples"].as_u64().unwrap());
    let svg = std::fs::read_to_string(d.join("mlp-demo-reliability.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<circle") && svg.contains("perfect calibration"));
}

#[test]
fn calibrate_stores_a_temperature_that_lowers_validation_nll() {
    let d = tmpdir("uncertainty-calibrate");
    let out = d.to_str().unwrap();
    let before = std::fs::read(mlp_path()).unwrap();
    let text = ok(&["calibrate", "--checkpoint", MLP, "--out", out]);
    assert!(text.contains("validation before") && text.contains("test after"), "{text}");
    assert_eq!(std::fs::read(mlp_path()).unwrap(), before, "the input checkpoint is left as it is");
    let r = json(&d.join("mlp-demo-calibrate.json"));
    let (nll_before, nll_after) = (check_metrics(&r["validation"]["before"])[2], check_metrics(&r["validation"]["after"])[2]);
    assert!(nll_after <= nll_before, "validation NLL {nll_before} -> {nll_after}");
    assert_eq!(check_metrics(&r["test"]["before"])[0], check_metrics(&r["test"]["after"])[0], "a temperature changes no prediction");
    let t = r["temperature"].as_f64().unwrap() as f32;
    let calibrated = Checkpoint::load(&d.join("mlp-demo-calibrated.safetensors")).unwrap();
    assert_eq!(calibrated.temperature, Some(t));
    let original = Checkpoint::load(&mlp_path()).unwrap();
    assert_eq!(original.temperature, None, "files from before temperatures still load");
    assert_eq!(calibrated.tensors, original.tensors);
    // Eval reports both the raw and the scaled figures of a calibrated checkpoint.
    let cal = d.join("mlp-demo-calibrated.safetensors");
    let text = ok(&["eval", "--checkpoint", cal.to_str().unwrap(), "--split", "val", "--out", out]);
    assert!(text.contains("(stored by aer calibrate)"), "{text}");
    let e = json(&d.join("mlp-demo-calibrated-eval.json"));
    assert!(check_metrics(&e["temperature_scaled"])[2] <= check_metrics(&e["calibration"])[2] + 1e-12, "{e}");
    // A temperature that is not a finite number above zero is never written.
    for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let err = Checkpoint { temperature: Some(bad), ..original.clone() }.to_bytes().unwrap_err().to_string();
        assert!(err.contains("finite number above zero"), "{err}");
    }
}

fn mlp_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(MLP)
}

#[test]
fn ensembles_average_shipped_models_and_refuse_mismatches() {
    // The dense cnn and its 91%-pruned sibling: one architecture.
    let text = ok(&["eval", "--checkpoint", CNN, "--ensemble", CNN_PRUNED, "--split", "val", "--val-size", "100"]);
    let line = text.lines().find(|l| l.starts_with("ensemble of 2: accuracy")).unwrap_or_else(|| panic!("{text}"));
    let acc: f64 = line["ensemble of 2: accuracy ".len()..].split('%').next().unwrap().parse().unwrap();
    assert!(acc > 80.0, "{line}");
    fails_with(&["eval", "--checkpoint", MLP, "--ensemble", CNN], &[MLP, CNN, "architecture", "'mlp'", "'cnn'"]);
    fails_with(&["ood", "--checkpoint", &format!("{CNN},{MLP}"), "--out-data", "mnist-10k"], &[MLP, CNN, "cannot be averaged"]);
}

#[test]
fn mc_dropout_and_test_time_augmentation() {
    let d = tmpdir("uncertainty-mc");
    let (train, test) = (noise(64, [8, 8], 3), noise(32, [8, 8], 4));
    let data = d.join("data");
    write_idx_data(&data, [8, 8], (&train.0, &train.1), (&test.0, &test.1));
    let spec = d.join("drop.toml");
    std::fs::write(&spec, "name = \"mlp-dropout\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 32\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"dropout\"\nrate = 0.5\n[[layers]]\ntype = \"linear\"\n").unwrap();
    let (data_s, run) = (data.to_str().unwrap(), d.join("run"));
    ok(&["train", "--data", data_s, "--val-size", "16", "--model", spec.to_str().unwrap(), "--epochs", "1", "--out", run.to_str().unwrap()]);
    let ck = run.join("last.safetensors");
    let out = d.join("eval");
    let text = ok(&["eval", "--checkpoint", ck.to_str().unwrap(), "--data", data_s, "--val-size", "16", "--mc-dropout", "4", "--tta", "2", "--out", out.to_str().unwrap()]);
    assert!(text.contains("MC dropout x4, TTA x2: accuracy"), "{text}");
    let r = json(&out.join("last-eval.json"));
    let (plain, mc) = (check_metrics(&r["calibration"]), check_metrics(&r["combined"]["calibration"]));
    assert_ne!(plain[2], mc[2], "dropout at inference and augmented copies change the prediction");
    assert_eq!(r["combined"]["mc_dropout"], 4);
    fails_with(&["eval", "--checkpoint", MLP, "--mc-dropout", "2"], &[MLP, "dropout layer", "has none"]);
    let text = ok(&["eval", "--checkpoint", MLP, "--tta", "2", "--split", "val", "--val-size", "200"]);
    assert!(text.contains("TTA x2: accuracy"), "{text}");
}

#[test]
fn ood_separates_noise_and_the_report_tabulates_the_results() {
    let d = tmpdir("uncertainty-ood");
    let out = d.join("results");
    let noise = noise_dir(&d, 28);
    let text = ok(&["ood", "--checkpoint", MLP, "--out-data", noise.to_str().unwrap(), "--n", "300", "--out", out.to_str().unwrap()]);
    assert!(text.contains("AUROC"), "{text}");
    let r = json(&out.join("mlp-demo-ood.json"));
    check_metrics(&r["in_calibration"]);
    let det = r["detection"].as_array().unwrap();
    assert_eq!(det.iter().map(|d| d["score"].as_str().unwrap()).collect::<Vec<_>>(), ["msp", "energy", "entropy"]);
    for s in det {
        let (auroc, fpr) = (s["auroc"].as_f64().unwrap(), s["fpr_at_95_tpr"].as_f64().unwrap());
        assert!(auroc > 0.5 && auroc <= 1.0 && (0.0..=1.0).contains(&fpr), "{s}");
    }
    assert_eq!((r["examples"].as_u64(), r["out_examples"].as_u64()), (Some(300), Some(100)));
    // An ensemble of the dense and the pruned cnn.
    ok(&["ood", "--checkpoint", &format!("{CNN},{CNN_PRUNED}"), "--out-data", noise.to_str().unwrap(), "--n", "100", "--out", out.to_str().unwrap()]);
    let e = json(&out.join("cnn-adam-s0-ood.json"));
    assert_eq!(e["members"].as_array().unwrap().len(), 2);
    ok(&["eval", "--checkpoint", MLP, "--split", "val", "--val-size", "200", "--out", out.to_str().unwrap()]);
    ok(&["report", out.to_str().unwrap()]);
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(md.contains("## Calibration and out-of-distribution detection") && md.contains("ood vs") && md.contains("(ensemble)"), "{md}");
    let csv = std::fs::read_to_string(out.join("report/uncertainty.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3, "{csv}");
}

#[test]
fn ood_against_corrupted_test_images() {
    let out = tmpdir("uncertainty-ood-corrupted").join("results");
    let text = ok(&["ood", "--checkpoint", MLP, "--corrupted", "impulse_noise,fog", "--n", "100", "--out", out.to_str().unwrap()]);
    assert!(text.contains("impulse_noise") && text.contains("pooled"), "{text}");
    let r = json(&out.join("mlp-demo-ood-corrupted.json"));
    let each = r["corrupted"]["per_corruption"].as_array().unwrap();
    assert_eq!(each.iter().map(|c| c["corruption"].as_str().unwrap()).collect::<Vec<_>>(), ["impulse_noise", "fog"]);
    assert_eq!((r["corrupted"]["severity"].as_u64(), r["examples"].as_u64(), r["out_examples"].as_u64()), (Some(5), Some(100), Some(200)));
    // Salt-and-pepper noise over 27% of the pixels at severity 5 leaves the mlp unsure.
    let msp = |d: &Value| d.as_array().unwrap().iter().find(|s| s["score"] == "msp").unwrap()["auroc"].as_f64().unwrap();
    assert!(msp(&each[0]["detection"]) > 0.8, "{}", each[0]);
    assert!((0.0..=1.0).contains(&msp(&r["detection"])), "{r}");
    ok(&["report", out.to_str().unwrap()]);
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(md.contains("MNIST-C severity 5, 2 corruptions pooled"), "{md}");
    // Bad requests: another set's corruption, a severity outside 1-5, neither out-distribution.
    fails_with(&["ood", "--checkpoint", MLP, "--corrupted", "frost"], &["frost", "CIFAR-10-C", "shot_noise"]);
    fails_with(&["ood", "--checkpoint", MLP, "--corrupted", "fog", "--severity", "6"], &["severity 6", "1-5"]);
    fails_with(&["ood", "--checkpoint", MLP], &["--out-data", "--corrupted"]);
    fails_with(&["ood", "--checkpoint", MLP, "--out-data", "mnist-10k", "--corrupted", "fog"], &["--corrupted", "cannot be used with"]);
}

#[test]
fn ood_refuses_images_of_another_shape() {
    let d = tmpdir("uncertainty-shape");
    let small = noise_dir(&d, 8);
    fails_with(&["ood", "--checkpoint", MLP, "--out-data", small.to_str().unwrap()], &["[1, 28, 28]", "[1, 8, 8]", small.to_str().unwrap()]);
    fails_with(&["ood", "--checkpoint", MLP, "--out-data", small.to_str().unwrap(), "--n", "0"], &["--n", "at least 1"]);
}
