//! The probe battery: bad inputs of every kind (data files, checkpoints, weights to import,
//! train, pipeline and model TOML, benchmark JSON, command-line values and numbers), each of
//! which must be refused with a message naming what is wrong, and never panic. Library probes
//! run in-process; command-line probes run the binaries and also check the exit code (not 0,
//! not 101 for a panic) and that nothing "panicked at". One table per kind; add a row for a
//! new bad input.

mod common;

use aer::train::{Checkpoint, TrainConfig};
use common::{gzip, idx};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A library probe: its name, what the refusal must say, and the call (`Ok` = accepted).
type LibProbe = (&'static str, &'static [&'static str], Box<dyn Fn() -> Result<(), String>>);

fn refuse<T, E: ToString>(r: Result<T, E>) -> Result<(), String> {
    r.map(|_| ()).map_err(|e| e.to_string())
}

fn tiny_spec() -> aer::nn::ModelSpec {
    aer::nn::ModelSpec::from_toml("name = \"tiny\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 4\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"linear\"\n", "tiny").unwrap()
}

/// A small mlp checkpoint with a mask and SGD state, changed by `edit` before it is written.
fn checkpoint_with(edit: impl Fn(&mut BTreeMap<String, (Vec<usize>, Vec<f32>)>)) -> Vec<u8> {
    let mut tensors = BTreeMap::new();
    for (name, shape) in [("fc1.weight", vec![4, 6]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 4]), ("fc2.bias", vec![3])] {
        let v = vec![0.5; shape.iter().product()];
        tensors.insert(format!("optimizer.{name}.momentum_buffer"), (shape.clone(), v.clone()));
        tensors.insert(name.to_string(), (shape, v));
    }
    tensors.insert("mask.fc1.weight".into(), (vec![4, 6], vec![1.0; 24]));
    edit(&mut tensors);
    let mut config = TrainConfig::default();
    config.optimizer.kind = aer::train::OptimizerKind::Sgd;
    Checkpoint { spec: tiny_spec(), input: [1, 2, 3], classes: 3, epoch: 1, config, optimizer_step: 3, tensors, packed: BTreeMap::new(), history: Vec::new(), temperature: None }.to_bytes().unwrap()
}

/// The safetensors `bytes` written again with their metadata changed by `edit` (the
/// checksum, if kept, then no longer matches).
fn with_metadata(bytes: &[u8], edit: impl Fn(&mut HashMap<String, String>)) -> Vec<u8> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap_or_default();
    edit(&mut meta);
    safetensors::serialize(st.tensors(), Some(meta)).unwrap()
}

fn no_checksum(meta: &mut HashMap<String, String>) {
    meta.remove("crc32");
}

fn plain_safetensors(tensors: &[(&str, Vec<usize>)], dtype: safetensors::Dtype) -> Vec<u8> {
    let width = dtype.bitsize() / 8;
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors.iter().map(|(n, s)| (n.to_string(), s.clone(), vec![0; s.iter().product::<usize>() * width])).collect();
    let views: Vec<_> = data.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(dtype, s.clone(), b).unwrap())).collect();
    safetensors::serialize(views, None).unwrap()
}

/// A safetensors file whose JSON header is `header`, followed by `data` bytes.
fn raw_safetensors(header: &str, data: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend(header.as_bytes());
    v.extend(vec![0u8; data]);
    v
}

fn expected_tiny() -> Vec<(String, Vec<usize>)> {
    [("fc1.weight", vec![4, 6]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 4]), ("fc2.bias", vec![3])].into_iter().map(|(n, s)| (n.to_string(), s)).collect()
}

fn import(tensors: &[(&str, Vec<usize>)], dtype: safetensors::Dtype) -> Result<(), String> {
    let f = aer::nn::interop::read_tensors(&plain_safetensors(tensors, dtype), "w.safetensors").map_err(|e| e.to_string())?;
    refuse(aer::nn::interop::match_tensors(&f, &expected_tiny(), "w.safetensors"))
}

fn model(text: &str) -> Result<(), String> {
    let spec = aer::nn::ModelSpec::from_toml(text, "m.toml").map_err(|e| e.to_string())?;
    refuse(spec.shapes([1, 28, 28], 10))
}

fn pipeline(text: &str) -> Result<(), String> {
    refuse(aer::pipeline::parse(text, "p.toml", aer::pipeline::MAX_RUNS))
}

fn train_toml(text: &str) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct RunFile {
        train: Option<TrainConfig>,
    }
    let f: RunFile = toml::from_str(text).map_err(|e| e.to_string())?;
    // What `aer train` checks before it starts: the schedule, and each method table by key.
    refuse(aer::methods::REGISTRY.check(&f.train.unwrap_or_default()))
}

fn bench(text: &str) -> Result<(), String> {
    refuse(aer::bench::RunReport::from_json(text, "run.json"))
}

fn lib_probes() -> Vec<LibProbe> {
    let images = idx(0x803, &[3, 4, 4], &[7; 48]);
    let labels = idx(0x801, &[3], &[0, 1, 2]);
    let cifar10 = |label: u8, records: usize, extra: usize| -> Vec<u8> { (0..records).flat_map(|_| std::iter::once(label).chain(std::iter::repeat_n(9, 3072))).chain(std::iter::repeat_n(0, extra)).collect() };
    let good = checkpoint_with(|_| {});
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x10;
    let (g1, g2, g3, g4, g5, g6, g7, g8) = (good.clone(), good.clone(), good.clone(), good.clone(), good.clone(), good.clone(), good.clone(), good.clone());
    let (im1, im2, lb1) = (images.clone(), images.clone(), labels.clone());
    let (c10a, c10b, c10c) = (cifar10(3, 2, 0), cifar10(3, 1, 100), cifar10(10, 2, 0));
    vec![
        // ---- data files
        ("IDX labels read as images", &["wrong magic", "0x00000803"], Box::new(move || refuse(aer::data::parse_idx(&lb1, 3)))),
        ("IDX empty file", &["truncated", "0 bytes"], Box::new(|| refuse(aer::data::parse_idx(&[], 3)))),
        ("IDX header cut short", &["truncated", "header needs 16 bytes"], Box::new(|| refuse(aer::data::parse_idx(&idx(0x803, &[3, 4], &[]), 3)))),
        ("IDX data cut short", &["truncated", "need 48 bytes", "re-download"], Box::new(|| refuse(aer::data::parse_idx(&idx(0x803, &[3, 4, 4], &[1; 40]), 3)))),
        ("IDX dimensions whose product overflows", &["multiply past", "corrupt"], Box::new(|| refuse(aer::data::parse_idx(&idx(0x803, &[u32::MAX; 3], &[1; 8]), 3)))),
        ("IDX huge dimensions in a small file", &["4294967295", "the file has 8"], Box::new(|| refuse(aer::data::parse_idx(&idx(0x801, &[u32::MAX], &[1; 8]), 1)))),
        ("IDX huge dimensions, gzip", &["truncated", "[60000, 28, 28]"], Box::new(|| refuse(aer::data::parse_idx(&gzip(&idx(0x803, &[60000, 28, 28], &[1; 8])), 3)))),
        ("IDX corrupt gzip stream", &["corrupt gzip", "re-download"], Box::new(|| refuse(aer::data::parse_idx(&[0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6], 3)))),
        ("IDX more labels than images", &["4 labels for 3 images"], Box::new(move || refuse(aer::data::idx_dataset(&im1, &idx(0x801, &[4], &[0; 4]), "mnist")))),
        ("IDX images of 0 x 0 pixels", &["0 x 0 pixels"], Box::new(move || refuse(aer::data::idx_dataset(&idx(0x803, &[3, 0, 0], &[]), &labels, "mnist")))),
        ("IDX labels with a bad magic", &["mnist labels", "wrong magic"], Box::new(move || refuse(aer::data::idx_dataset(&im2, &idx(0x803, &[3, 1, 1], &[0; 3]), "mnist")))),
        ("CIFAR empty batch", &["0 bytes", "3073-byte CIFAR-10 records"], Box::new(|| refuse(aer::data::parse_cifar_batch(&[], aer::data::Cifar::Ten)))),
        ("CIFAR partial record", &["not a whole number", "truncated"], Box::new(move || refuse(aer::data::parse_cifar_batch(&c10b, aer::data::Cifar::Ten)))),
        ("CIFAR-10 label 10", &["record 0", "label 10", "CIFAR-100 has two label bytes"], Box::new(move || refuse(aer::data::parse_cifar_batch(&c10c, aer::data::Cifar::Ten)))),
        ("CIFAR-10 batch read as CIFAR-100", &["3074-byte CIFAR-100 records"], Box::new(move || refuse(aer::data::parse_cifar_batch(&c10a, aer::data::Cifar::Hundred)))),
        ("data directory that does not exist", &["/nonexistent/aer-probe", "no such data directory"], Box::new(|| refuse(aer::data::load_dir(Path::new("/nonexistent/aer-probe"), None)))),
        // ---- checkpoints
        ("checkpoint: empty file", &["truncated, corrupt or not a safetensors file"], Box::new(|| aer::train::Checkpoint::from_bytes(&[]).map(|_| ()))),
        ("checkpoint: a text file", &["not a safetensors file"], Box::new(|| Checkpoint::from_bytes(b"epochs = 3\nlr = 0.1\n").map(|_| ()))),
        ("checkpoint: header size 2^64-1", &["not a safetensors file"], Box::new(|| Checkpoint::from_bytes(&[0xff; 16]).map(|_| ()))),
        ("checkpoint: header size past the end", &["not a safetensors file"], Box::new(|| Checkpoint::from_bytes(&raw_safetensors("{}", 0)[..6]).map(|_| ()))),
        ("checkpoint: tensor offsets past the data", &["safetensors"], Box::new(|| Checkpoint::from_bytes(&raw_safetensors(r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,1000000]}}"#, 16)).map(|_| ()))),
        ("checkpoint: tensor offsets reversed", &["safetensors"], Box::new(|| Checkpoint::from_bytes(&raw_safetensors(r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, 4)).map(|_| ()))),
        ("checkpoint: absurd shape", &["safetensors"], Box::new(|| Checkpoint::from_bytes(&raw_safetensors(r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, 4)).map(|_| ()))),
        ("checkpoint: a flipped data bit", &["checksum mismatch", "corrupt"], Box::new(move || Checkpoint::from_bytes(&flipped).map(|_| ()))),
        ("checkpoint: a flipped bit in the name 'crc32'", &["no checksum", "aer resave"], Box::new(move || Checkpoint::from_bytes(&with_metadata(&g1, |m| {
            let v = m.remove("crc32").unwrap();
            m.insert("crc22".into(), v);
        })).map(|_| ()))),
        ("checkpoint: written before checksums", &["no checksum", "aer resave --checkpoint"], Box::new(move || Checkpoint::from_bytes(&with_metadata(&g2, no_checksum)).map(|_| ()))),
        ("checkpoint: foreign safetensors", &["not an aer checkpoint", "aer import"], Box::new(|| Checkpoint::from_bytes(&plain_safetensors(&[("fc1.weight", vec![4, 6])], safetensors::Dtype::F32)).map(|_| ()))),
        ("checkpoint: exported weights", &["aer export", "aer import"], Box::new(move || Checkpoint::from_bytes(&with_metadata(&g3, |m| {
            m.clear();
            m.insert("format".into(), "aer-weights".into());
        })).map(|_| ()))),
        ("checkpoint: a mask of the wrong size", &["mask.fc1.weight", "[4, 5]", "[4, 6]"], Box::new(|| Checkpoint::from_bytes(&checkpoint_with(|t| {
            t.insert("mask.fc1.weight".into(), (vec![4, 5], vec![1.0; 20]));
        })).map(|_| ()))),
        ("checkpoint: a transposed mask", &["mask.fc1.weight", "[6, 4]", "[4, 6]"], Box::new(|| Checkpoint::from_bytes(&checkpoint_with(|t| {
            t.insert("mask.fc1.weight".into(), (vec![6, 4], vec![1.0; 24]));
        })).map(|_| ()))),
        ("checkpoint: optimizer state of the wrong size", &["optimizer.fc2.weight.momentum_buffer", "[3, 5]"], Box::new(|| Checkpoint::from_bytes(&checkpoint_with(|t| {
            t.insert("optimizer.fc2.weight.momentum_buffer".into(), (vec![3, 5], vec![0.0; 15]));
        })).map(|_| ()))),
        ("checkpoint: a mask of a parameter it lacks", &["mask.fc9.weight", "'fc9.weight'"], Box::new(|| Checkpoint::from_bytes(&checkpoint_with(|t| {
            t.insert("mask.fc9.weight".into(), (vec![2], vec![1.0; 2]));
        })).map(|_| ()))),
        ("checkpoint (resave): an F64 tensor", &["fc1.bias", "expected F32"], Box::new(move || {
            let st = safetensors::SafeTensors::deserialize(&g4).unwrap();
            let (_, header) = safetensors::SafeTensors::read_metadata(&g4).unwrap();
            let mut meta = header.metadata().clone().unwrap();
            meta.remove("crc32");
            let f64s = [0u8; 32];
            let views: Vec<_> = st.tensors().into_iter().map(|(n, v)| if n == "fc1.bias" { (n, safetensors::tensor::TensorView::new(safetensors::Dtype::F64, vec![4], &f64s).unwrap()) } else { (n, v) }).collect();
            Checkpoint::from_bytes_unchecked(&safetensors::serialize(views, Some(meta)).unwrap()).map(|_| ())
        })),
        ("checkpoint (resave): format version 2", &["format version 2"], Box::new(move || Checkpoint::from_bytes_unchecked(&with_metadata(&g5, |m| {
            no_checksum(m);
            m.insert("format_version".into(), "2".into());
        })).map(|_| ()))),
        ("checkpoint (resave): model spec not TOML", &["checkpoint model_spec"], Box::new(move || Checkpoint::from_bytes_unchecked(&with_metadata(&g6, |m| {
            no_checksum(m);
            m.insert("model_spec".into(), "[[layers".into());
        })).map(|_| ()))),
        ("checkpoint (resave): a damaged key name", &["'crc22'", "not one aer writes"], Box::new(move || Checkpoint::from_bytes_unchecked(&with_metadata(&g7, |m| {
            let v = m.remove("crc32").unwrap();
            m.insert("crc22".into(), v);
        })).map(|_| ()))),
        ("checkpoint (resave): optimizer step past u32", &["optimizer_step"], Box::new(move || Checkpoint::from_bytes_unchecked(&with_metadata(&g8, |m| {
            no_checksum(m);
            m.insert("optimizer_step".into(), "4294967296".into());
        })).map(|_| ()))),
        ("checkpoint: a file that is not there", &["/nonexistent/ck.safetensors", "cannot read"], Box::new(|| refuse(Checkpoint::load(Path::new("/nonexistent/ck.safetensors"))))),
        // ---- weights to import
        ("import: a linear weight stored transposed", &["fc1.weight", "[6, 4]", "[4, 6]", "transposed"], Box::new(|| import(&[("fc1.weight", vec![6, 4]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 4]), ("fc2.bias", vec![3])], safetensors::Dtype::F32))),
        ("import: nn.Sequential weight transposed", &["net.2.weight", "[4, 3]", "fc2.weight", "transposed"], Box::new(|| import(&[("net.0.weight", vec![4, 6]), ("net.0.bias", vec![4]), ("net.2.weight", vec![4, 3]), ("net.2.bias", vec![3])], safetensors::Dtype::F16))),
        ("import: a weight of another size", &["fc2.weight", "[3, 5]", "[3, 4]", "same architecture"], Box::new(|| import(&[("fc1.weight", vec![4, 6]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 5]), ("fc2.bias", vec![3])], safetensors::Dtype::F32))),
        ("import: integer weights", &["I32", "F32, F16, BF16 or F64"], Box::new(|| import(&[("fc1.weight", vec![4, 6])], safetensors::Dtype::I32))),
        ("import: a missing bias", &["missing", "fc2.bias"], Box::new(|| import(&[("fc1.weight", vec![4, 6]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 4])], safetensors::Dtype::F32))),
        ("import: not safetensors", &["w.safetensors", "not a safetensors file"], Box::new(|| refuse(aer::nn::interop::read_tensors(b"PK\x03\x04 a zip file", "w.safetensors")))),
        // ---- model TOML
        ("model: unknown layer type", &["m.toml", "convolution"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"convolution\"\n"))),
        ("model: kernel 0", &["layer 1 (conv2d)", "at least 1"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"conv2d\"\nout = 4\nkernel = 0\n"))),
        ("model: kernel larger than the image", &["layer 1 (conv2d)", "kernel 99"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"conv2d\"\nout = 4\nkernel = 99\n"))),
        ("model: linear on an image", &["layer 1 (linear)", "flatten"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"linear\"\nout = 4\n"))),
        ("model: negative width", &["m.toml"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = -4\n"))),
        ("model: padding past usize", &["m.toml"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"conv2d\"\nout = 4\nkernel = 3\npadding = 99999999999999999999\n"))),
        ("model: padding that would wrap around", &["layer 1 (conv2d)", "padding 4611686018427387904"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"conv2d\"\nout = 4\nkernel = 3\npadding = 4611686018427387904\n"))),
        ("model: a linear layer too wide to allocate", &["layer 2 (linear)", "[100000000000, 784]", "values a tensor can hold"], Box::new(|| model("name = \"m\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 100000000000\n[[layers]]\ntype = \"linear\"\n"))),
        ("model: a preset that does not exist", &["no-such-preset"], Box::new(|| refuse(aer::nn::ModelSpec::load("no-such-preset")))),
        // ---- pipeline TOML
        ("pipeline: broken TOML", &["p.toml"], Box::new(|| pipeline("name = \"p\"\n[[stages]\nkind = \"train\"\n"))),
        ("pipeline: unknown stage kind", &["p.toml", "distill"], Box::new(|| pipeline("name = \"p\"\n[[stages]]\nkind = \"distill\"\n"))),
        ("pipeline: sweeps past the run limit", &["p.toml", "--max-runs"], Box::new(|| pipeline(&format!("name = \"p\"\nseed = [{}]\n[[stages]]\nkind = \"train\"\n", (0..1001).map(|i| i.to_string()).collect::<Vec<_>>().join(","))))),
        ("pipeline: negative learning rate", &["stage 1 (train)", "lr -1"], Box::new(|| pipeline("name = \"p\"\n[[stages]]\nkind = \"train\"\n[stages.train.optimizer]\nlr = -1.0\n"))),
        ("pipeline: NaN learning rate", &["stage 1 (train)", "lr NaN"], Box::new(|| pipeline("name = \"p\"\n[[stages]]\nkind = \"train\"\n[stages.train.optimizer]\nlr = nan\n"))),
        // ---- train TOML and schedules
        ("train: a misspelt setting", &["epoch"], Box::new(|| train_toml("[train]\nepoch = 3\n"))),
        ("train: lr as text", &["lr", "fast"], Box::new(|| train_toml("[train.optimizer]\nlr = \"fast\"\n"))),
        ("train: negative epochs", &["epochs"], Box::new(|| train_toml("[train]\nepochs = -3\n"))),
        ("train: milestones out of order", &["milestones [150, 100]", "increasing"], Box::new(|| train_toml("[train]\nepochs = 200\nschedule = \"piecewise\"\nmilestones = [150, 100]\n"))),
        ("train: NaN lr factor", &["lr_factor NaN"], Box::new(|| train_toml("[train]\nepochs = 200\nschedule = \"piecewise\"\nmilestones = [100]\nlr_factor = nan\n"))),
        // ---- benchmark JSON
        ("bench: not JSON", &["run.json", "not JSON"], Box::new(|| bench("{ \"schema_version\": "))),
        ("bench: another schema", &["run.json", "schema Some(999)"], Box::new(|| bench("{ \"schema_version\": 999 }"))),
        ("bench: fields missing", &["run.json", "not a benchmark result"], Box::new(|| bench(&format!("{{ \"schema_version\": {} }}", aer::bench::SCHEMA_VERSION)))),
    ]
}

/// A command-line probe: its name, the binary, its arguments, what the refusal must say.
struct CliProbe {
    name: &'static str,
    bin: &'static str,
    args: Vec<String>,
    needles: Vec<String>,
}

fn cli(name: &'static str, args: &[&str], needles: &[&str]) -> CliProbe {
    CliProbe { name, bin: env!("CARGO_BIN_EXE_aer"), args: args.iter().map(|s| s.to_string()).collect(), needles: needles.iter().map(|s| s.to_string()).collect() }
}

fn tmp() -> PathBuf {
    common::tmpdir("probes")
}

fn cli_probes(d: &Path) -> Vec<CliProbe> {
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(d.join(name), bytes).unwrap();
        p(name)
    };
    let shipped = std::fs::read(Path::new(ROOT).join("assets/models/mlp-demo.safetensors")).unwrap();
    let old = write("old.safetensors", &with_metadata(&shipped, no_checksum));
    let mut bytes = shipped.clone();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x04;
    let corrupt = write("corrupt.safetensors", &bytes);
    // The shipped mlp with its first weight stored [in, out], values transposed to match.
    let mut ck = Checkpoint::from_bytes(&shipped).unwrap();
    let (shape, v) = ck.tensors["fc1.weight"].clone();
    let (rows, cols) = (shape[0], shape[1]);
    let t: Vec<f32> = (0..rows * cols).map(|i| v[(i % rows) * cols + i / rows]).collect();
    ck.tensors.insert("fc1.weight".into(), (vec![cols, rows], t.clone()));
    let transposed = write("transposed.safetensors", &ck.to_bytes().unwrap());
    let weights: Vec<(String, Vec<usize>, Vec<f32>)> = ck.tensors.iter().filter(|(k, _)| !k.starts_with("mask.") && !k.starts_with("optimizer.")).map(|(k, (s, v))| (k.clone(), s.clone(), v.clone())).collect();
    let foreign = write("foreign.safetensors", &aer::nn::interop::write_tensors(&weights, HashMap::new()).unwrap());
    let text = write("notes.safetensors", b"not a checkpoint\n");
    let mut data = idx(0x803, &[u32::MAX, u32::MAX, 2], &[0; 32]);
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/train-images-idx3-ubyte"), &data).unwrap();
    data = idx(0x801, &[4], &[0; 4]);
    for f in ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"] {
        std::fs::write(d.join("data").join(f), &data).unwrap();
    }
    std::fs::write(d.join("data/t10k-images-idx3-ubyte"), idx(0x803, &[4, 2, 2], &[0; 16])).unwrap();
    let bad_data = p("data");
    let bad_toml = write("broken.toml", b"[train\nepochs = 3\n");
    let lr_text = write("lr-text.toml", b"[train.optimizer]\nlr = \"fast\"\n");
    let schedule = write("schedule.toml", b"[train]\nschedule = \"sometimes\"\n");
    let model = write("model.toml", b"name = \"m\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"dense\"\n");
    let huge = write("huge.toml", b"name = \"huge\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 100000000000\n[[layers]]\ntype = \"linear\"\n");
    let stage = write("stage.toml", b"name = \"p\"\n[[stages]]\nkind = \"distill\"\n");
    let bench_bad = write("bench.json", b"{\"schema_version\": 1, ");
    let bench_schema = write("bench-old.json", b"{\"schema_version\": 0}");
    let out = p("out");
    let mut probes = vec![
        cli("eval: a checkpoint from before checksums", &["eval", "--checkpoint", &old], &["old.safetensors", "no checksum", "aer resave"]),
        cli("eval: a corrupt checkpoint", &["eval", "--checkpoint", &corrupt], &["corrupt.safetensors", "checksum mismatch"]),
        cli("eval: a weight stored transposed", &["eval", "--checkpoint", &transposed], &["fc1.weight", &format!("[{cols}, {rows}]"), &format!("[{rows}, {cols}]"), "transposed"]),
        cli("eval: a foreign safetensors file", &["eval", "--checkpoint", &foreign], &["foreign.safetensors", "aer import"]),
        cli("eval: a text file as checkpoint", &["eval", "--checkpoint", &text], &["notes.safetensors", "not a safetensors file"]),
        cli("attack: a checkpoint from before checksums", &["attack", "--checkpoint", &old, "--n", "4"], &["old.safetensors", "aer resave"]),
        cli("resave: a corrupt checkpoint", &["resave", "--checkpoint", &corrupt, "--to", &p("resaved.safetensors")], &["corrupt.safetensors", "checksum mismatch"]),
        cli("resave: a file that is not there", &["resave", "--checkpoint", "/nonexistent/ck.safetensors"], &["/nonexistent/ck.safetensors", "cannot read"]),
        cli("resave: foreign safetensors", &["resave", "--checkpoint", &foreign], &["foreign.safetensors", "not an aer checkpoint"]),
        cli("import: a weight stored transposed", &["import", "--model", "mlp", "--weights", &foreign, "--out", &out], &["fc1.weight", &format!("[{cols}, {rows}]"), "transposed"]),
        cli("import: not safetensors", &["import", "--model", "mlp", "--weights", &text, "--out", &out], &["notes.safetensors", "not a safetensors file"]),
        cli("train: IDX dimensions that overflow", &["train", "--data", &bad_data, "--out", &out], &["train-images-idx3-ubyte", "multiply past"]),
        cli("train: broken config TOML", &["train", "--config", &bad_toml, "--out", &out], &["broken.toml", "not a valid run file"]),
        cli("train: lr as text in the config", &["train", "--config", &lr_text, "--out", &out], &["lr-text.toml", "fast"]),
        cli("train: an unknown schedule", &["train", "--config", &schedule, "--out", &out], &["schedule.toml", "sometimes"]),
        cli("train: an unknown layer type", &["train", "--model", &model, "--out", &out], &["model.toml", "dense"]),
        cli("train: a layer too wide to allocate", &["train", "--model", &huge, "--out", &out], &["layer 2 (linear)", "values a tensor can hold"]),
        cli("train: lr infinite", &["train", "--lr", "inf", "--epochs", "1", "--out", &out], &["learning rate inf", "positive"]),
        cli("train: epochs negative", &["train", "--epochs=-1"], &["--epochs", "-1"]),
        cli("train: batch size not a number", &["train", "--batch-size", "lots"], &["--batch-size", "lots"]),
        cli("run: an unknown stage kind", &["run", &stage, "--out", &out], &["stage.toml", "distill"]),
        cli("run: a pipeline file that is not there", &["run", "/nonexistent/p.toml", "--out", &out], &["/nonexistent/p.toml"]),
        cli("eval: a data set name that does not exist", &["eval", "--checkpoint", &transposed, "--data", "no-such-data"], &["no-such-data"]),
    ];
    for (name, file, needle) in [("aer-bench compare: broken JSON", &bench_bad, "not JSON"), ("aer-bench compare: old schema", &bench_schema, "schema")] {
        probes.push(CliProbe { name, bin: env!("CARGO_BIN_EXE_aer-bench"), args: vec!["compare".into(), file.clone(), "--svg".into(), p("c.svg")], needles: vec![file.clone(), needle.into()] });
    }
    probes
}

#[test]
fn bad_inputs_are_refused_clearly() {
    let mut failures = Vec::new();
    let lib = lib_probes();
    let n_lib = lib.len();
    for (name, needles, call) in lib {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
            Err(_) => failures.push(format!("{name}: panicked")),
            Ok(Ok(())) => failures.push(format!("{name}: accepted")),
            Ok(Err(text)) => {
                if let Some(n) = needles.iter().find(|n| !text.contains(*n)) {
                    failures.push(format!("{name}: '{n}' not in: {text}"));
                }
            }
        }
    }
    let d = tmp();
    let probes = cli_probes(&d);
    let n_cli = probes.len();
    for p in probes {
        let out = std::process::Command::new(p.bin)
            .args(&p.args)
            .current_dir(ROOT)
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .env("AER_CACHE_DIR", std::env::temp_dir().join("aer-test-cache"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        let code = out.status.code();
        if code == Some(0) || code == Some(101) || code.is_none() || text.contains("panicked at") {
            failures.push(format!("{}: exit {code:?}:\n{text}", p.name));
        } else if let Some(n) = p.needles.iter().find(|n| !text.contains(n.as_str())) {
            failures.push(format!("{}: '{n}' not in: {text}", p.name));
        }
    }
    let _ = std::fs::remove_dir_all(&d);
    println!("{n_lib} library probes, {n_cli} command-line probes, {} failed", failures.len());
    assert!(failures.is_empty(), "{} of {} probes failed:\n{}", failures.len(), n_lib + n_cli, failures.join("\n"));
}
