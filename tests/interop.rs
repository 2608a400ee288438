//! Weights in and out: a checkpoint exported as plain safetensors imports back to the same
//! test accuracy, also renamed as an nn.Sequential state dict and stored as f16.

mod common;

use aer::nn::interop::read_tensors;
use std::path::PathBuf;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Run `aer`, which must succeed; its standard error then output.
fn aer(args: &[&str]) -> String {
    let (ok, text) = common::aer(args);
    assert!(ok, "aer {args:?} failed:\n{text}");
    text
}

fn accuracy(text: &str) -> f64 {
    let at = text.find("test accuracy").unwrap_or_else(|| panic!("no accuracy in:\n{text}"));
    text[at..].split_whitespace().find_map(|w| w.trim_end_matches(['%', ',']).parse::<f64>().ok()).unwrap()
}

#[test]
fn exported_weights_import_to_the_same_accuracy() {
    let dir = common::tmpdir("interop");
    let p = |n: &str| -> String { dir.join(n).to_string_lossy().into_owned() };
    let original = PathBuf::from(ROOT).join("assets/models/cnn-ibp-e0.1-rigl-s0.9.safetensors");
    let original = original.to_str().unwrap();
    let want = accuracy(&aer(&["eval", "--checkpoint", original]));

    aer(&["export", "--checkpoint", original, "--out", &p("w.safetensors")]);
    let got = accuracy(&aer(&["import", "--model", "cnn", "--weights", &p("w.safetensors"), "--out", &p("ck.safetensors")]));
    assert!((got - want).abs() <= 0.1, "export then import: {got}% vs {want}%");

    // The same weights as nn.Sequential would name them (conv, relu, pool, conv, relu, pool,
    // flatten, linear, relu, linear), in f16.
    let tensors = read_tensors(&std::fs::read(p("w.safetensors")).unwrap(), "w").unwrap();
    let rename = |n: &str| n.replace("conv1.", "net.0.").replace("conv2.", "net.3.").replace("fc1.", "net.7.").replace("fc2.", "net.9.");
    let f16: Vec<(String, Vec<usize>, Vec<u8>)> = tensors.iter().map(|(n, (s, v))| (rename(n), s.clone(), v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect())).collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = f16.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F16, s.clone(), b).unwrap())).collect();
    std::fs::write(p("seq.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
    let seq = accuracy(&aer(&["import", "--model", "cnn", "--weights", &p("seq.safetensors"), "--out", &p("ck2.safetensors")]));
    assert!((seq - want).abs() <= 0.5, "f16 Sequential import: {seq}% vs {want}%");
}
