//! `aer shift` end to end on the shipped MLP and the bundled MNIST subset: the JSON's fields,
//! a strong corruption lowering accuracy, CE of 1 against the model itself, the heat map, the
//! grid and the report's table; and the bad requests refused with clear errors.

mod common;

use common::{aer, tmpdir};

const MODEL: &str = "assets/models/mlp-demo.safetensors";

#[test]
fn shift_reports_accuracy_per_corruption_and_severity() {
    let dir = tmpdir("shift");
    let out = dir.to_str().unwrap();
    let (ok, text) = aer(&["shift", "--checkpoint", MODEL, "--n", "50", "--corruptions", "brightness,zigzag", "--severities", "1,5", "--reference", MODEL, "--grid", "--out", out]);
    assert!(ok, "aer shift failed:\n{text}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("mlp-demo-shift.json")).unwrap()).unwrap();
    assert_eq!(r["set"], "MNIST-C");
    assert_eq!(r["examples"], 50);
    assert_eq!(r["severities"], serde_json::json!([1, 5]));
    let clean = r["clean_accuracy"].as_f64().unwrap();
    assert!(clean > 0.8, "clean accuracy {clean}");
    let rows = r["corruptions"].as_array().unwrap();
    assert_eq!(rows.iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["brightness", "zigzag"]);
    let mut means = Vec::new();
    for c in rows {
        let acc: Vec<f64> = c["accuracy"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).collect();
        assert_eq!(acc.len(), 2);
        assert!(acc[1] < clean - 0.1, "{}: severity 5 accuracy {} is not well below clean {clean}", c["name"], acc[1]);
        assert!(acc[1] <= acc[0], "{}: severity 5 ({}) above severity 1 ({})", c["name"], acc[1], acc[0]);
        assert!((c["mean_accuracy"].as_f64().unwrap() - (acc[0] + acc[1]) / 2.0).abs() < 1e-12);
        // The reference is the model itself, on the same corrupted images: CE is exactly 1.
        assert_eq!(c["ce"].as_f64(), Some(1.0), "{}", c["name"]);
        means.push(c["mean_accuracy"].as_f64().unwrap());
    }
    assert!((r["mean_corruption_accuracy"].as_f64().unwrap() - (means[0] + means[1]) / 2.0).abs() < 1e-12);
    assert_eq!(r["mce"].as_f64(), Some(1.0));
    assert_eq!(r["reference"]["clean_accuracy"].as_f64(), Some(clean));
    let svg = std::fs::read_to_string(dir.join("mlp-demo-shift.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("zigzag") && svg.contains("severity 5"));
    let png = std::fs::read(dir.join("mlp-demo-shift-grid.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");

    // The same seed corrupts the same way.
    let again = tmpdir("shift-again");
    let (ok, text) = aer(&["shift", "--checkpoint", MODEL, "--n", "50", "--corruptions", "brightness,zigzag", "--severities", "1,5", "--batch-size", "16", "--out", again.to_str().unwrap()]);
    assert!(ok, "{text}");
    let r2: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(again.join("mlp-demo-shift.json")).unwrap()).unwrap();
    assert_eq!(r2["corruptions"][1]["accuracy"], r["corruptions"][1]["accuracy"], "another batch size changed the zigzags");

    // aer report finds the result and tabulates it.
    let (ok, text) = aer(&["report", out, "--out", dir.join("report").to_str().unwrap()]);
    assert!(ok, "aer report failed:\n{text}");
    let md = std::fs::read_to_string(dir.join("report/report.md")).unwrap();
    assert!(md.contains("## Corruptions: mlp") && md.contains("| zigzag |") && md.contains("mCE"), "{md}");
}

#[test]
fn shift_refuses_bad_requests() {
    let dir = tmpdir("shift-bad");
    let out = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["shift", "--checkpoint", MODEL, "--n", "10", "--out", out];
        args.extend(extra);
        let (ok, text) = aer(&args);
        assert!(!ok, "aer shift {extra:?} succeeded:\n{text}");
        text
    };
    let text = run(&["--corruptions", "fogg"]);
    assert!(text.contains("unknown corruption 'fogg'") && text.contains("shot_noise") && text.contains("canny_edges"), "{text}");
    let text = run(&["--corruptions", "jpeg"]);
    assert!(text.contains("CIFAR-10-C") && text.contains("greyscale") && text.contains("stripe"), "{text}");
    for s in ["0", "6"] {
        let text = run(&["--severities", s]);
        assert!(text.contains(&format!("severity {s} is outside 1-5")), "{text}");
    }
    assert!(!dir.join("mlp-demo-shift.json").exists(), "a refused request wrote results");
}
