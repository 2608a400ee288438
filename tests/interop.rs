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

    let dir_s = dir.to_str().unwrap();
    aer(&["export", "--checkpoint", original, "--out", dir_s]);
    let exported = p("cnn-ibp-e0.1-rigl-s0.9-export.safetensors");
    let got = accuracy(&aer(&["import", "--model", "cnn", "--weights", &exported, "--out", dir_s]));
    assert!(std::path::Path::new(&p("cnn-ibp-e0.1-rigl-s0.9-export-imported.safetensors")).is_file());
    assert!((got - want).abs() <= 0.1, "export then import: {got}% vs {want}%");

    // The same weights as nn.Sequential would name them (conv, relu, pool, conv, relu, pool,
    // flatten, linear, relu, linear), in f16.
    let tensors = read_tensors(&std::fs::read(&exported).unwrap(), "w").unwrap();
    let rename = |n: &str| n.replace("conv1.", "net.0.").replace("conv2.", "net.3.").replace("fc1.", "net.7.").replace("fc2.", "net.9.");
    let f16: Vec<(String, Vec<usize>, Vec<u8>)> = tensors.iter().map(|(n, (s, v))| (rename(n), s.clone(), v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect())).collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = f16.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F16, s.clone(), b).unwrap())).collect();
    std::fs::write(p("seq.safetensors"), safetensors::serialize(views, None).unwrap()).unwrap();
    let seq = accuracy(&aer(&["import", "--model", "cnn", "--weights", &p("seq.safetensors"), "--out", dir_s]));
    assert!((seq - want).abs() <= 0.5, "f16 Sequential import: {seq}% vs {want}%");
}

/// A state dict named as the usual PyTorch CIFAR models name theirs (bias-free convolutions,
/// `layer1.0.bn1.running_var`, `shortcut.0`, `num_batches_tracked` counters) loads into the
/// residual presets by name, and computes what the model it came from computes.
#[test]
fn residual_presets_load_pytorch_state_dicts() {
    use aer::nn::interop::{match_tensors, write_tensors};
    use aer::nn::{Model, ModelSpec};
    use pollster::block_on;
    let gpu = common::gpu();
    let spec = ModelSpec::load("resnet20").unwrap();
    let names: Vec<String> = spec.weight_names();
    assert_eq!((names[0].as_str(), names[3].as_str(), names.last().unwrap().as_str()), ("conv1.weight", "layer1.1.conv1.weight", "linear.weight"));
    assert!(names.contains(&"layer2.0.shortcut.0.weight".to_string()));
    let original = Model::new(gpu, &spec, [3, 32, 32], 10, 4).unwrap();
    let mut tensors = block_on(original.download(gpu)).unwrap();
    assert!(!tensors.iter().any(|(n, _, _)| n == "conv1.bias"), "bias-free convolutions");
    // Batch normalization away from its start, so that a swapped tensor would show.
    for (n, _, v) in tensors.iter_mut().filter(|(n, _, _)| n.contains("bn") || n.contains("shortcut.1")) {
        v.iter_mut().enumerate().for_each(|(i, x)| *x = if n.ends_with("running_var") { 0.5 + (i % 7) as f32 * 0.1 } else { (i % 5) as f32 * 0.1 - 0.2 });
    }
    let bytes = write_tensors(&tensors, Default::default()).unwrap();
    // PyTorch's batch counters ride along.
    let mut file = aer::nn::interop::read_tensors(&bytes, "resnet20.safetensors").unwrap();
    let expected: Vec<(String, Vec<usize>)> = original.params.iter().map(|p| (p.name.clone(), p.value.shape().to_vec())).collect();
    let values = match_tensors(&file, &expected, "resnet20.safetensors").unwrap();
    let loaded = Model::from_tensors(gpu, &spec, [3, 32, 32], 10, &values).unwrap();
    original.set_values(gpu, &values).unwrap();
    let x = gpu.upload(&(0..2 * 3 * 32 * 32).map(|i| (i % 255) as f32 / 255.0).collect::<Vec<_>>(), &[2, 3, 32, 32]);
    let a = block_on(gpu.read_f32(&original.forward(gpu, x.clone(), None))).unwrap();
    let b = block_on(gpu.read_f32(&loaded.forward(gpu, x, None))).unwrap();
    assert_eq!(a, b);
    // A state dict without one of the running statistics is refused, naming it.
    file.remove("layer3.2.bn2.running_mean");
    let e = match_tensors(&file, &expected, "resnet20.safetensors").unwrap_err().to_string();
    assert!(e.contains("layer3.2.bn2.running_mean"), "{e}");
}
