//! What the end-to-end test binaries share: one device per binary (opening one costs seconds
//! on a CPU adapter) and the bundled MNIST subset.
#![allow(dead_code)] // each binary uses its own share of these

use aer::data::{load_dir, Splits, BUNDLED_MNIST};
use aer::gpu::{AdapterChoice, Gpu};
use pollster::block_on;
use std::path::Path;
use std::sync::OnceLock;

pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| block_on(Gpu::new(&AdapterChoice::from_env())).expect("a GPU adapter (apt-get install mesa-vulkan-drivers)"))
}

/// The bundled subset with its 1,000-image validation split.
pub fn mnist() -> Splits {
    load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(BUNDLED_MNIST), Some(1000)).unwrap()
}

/// The first `train` training and `val` validation images of the bundled subset.
pub fn mnist_head(train: usize, val: usize) -> Splits {
    let mut s = mnist();
    s.train = s.train.head(train);
    s.val = s.val.head(val);
    s
}

/// input - 100 - classes: small enough to train for a few epochs inside a test.
pub fn mlp100() -> aer::nn::ModelSpec {
    let toml = "name = \"mlp100\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 100\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"linear\"\n";
    aer::nn::ModelSpec::from_toml(toml, "mlp100").unwrap()
}

/// Adam at `lr` with a cosine schedule, batches of 64, for `epochs`; everything else off.
pub fn adam_config(epochs: usize, lr: f32, seed: u64) -> aer::train::TrainConfig {
    use aer::train::{OptimizerConfig, OptimizerKind, TrainConfig};
    TrainConfig { epochs, batch_size: 64, seed, optimizer: OptimizerConfig { kind: OptimizerKind::Adam, lr, ..Default::default() }, ..Default::default() }
}

/// A fresh model of `spec` trained with `cfg` on `data`; `each(stats)` after every epoch.
pub fn train(spec: &aer::nn::ModelSpec, data: &aer::data::Dataset, cfg: &aer::train::TrainConfig, each: &mut dyn FnMut(&aer::train::EpochStats)) -> aer::nn::Model {
    let model = aer::nn::Model::new(gpu(), spec, data.shape, 10, cfg.seed).unwrap();
    let mut opt = aer::train::Optimizer::new(gpu(), &cfg.optimizer, &model.params);
    let mut methods = aer::methods::REGISTRY.build(cfg).unwrap();
    for e in 0..cfg.epochs {
        each(&block_on(aer::train::train_epoch(gpu(), &model, &mut opt, data, cfg, e, &mut methods, &[], &mut |_, _| {})).unwrap());
    }
    model
}

/// The `aer` binary, run from the crate root, with no crossover table that `aer tune` cached
/// on this machine (the shipped one serves).
pub fn aer_command(args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_aer"));
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("AER_CACHE_DIR", std::env::temp_dir().join("aer-test-cache"));
    c
}

/// Run `aer`: (whether it succeeded, its standard error then output). It must not panic.
pub fn aer(args: &[&str]) -> (bool, String) {
    let out = aer_command(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("panicked"), "aer {args:?} panicked:\n{text}");
    (out.status.success(), text)
}

/// Run `aer args`: it must fail, and say every one of `needles`.
pub fn fails_with(args: &[&str], needles: &[&str]) {
    let (ok, text) = aer(args);
    assert!(!ok, "aer {args:?} should fail:\n{text}");
    for n in needles {
        assert!(text.contains(n), "aer {args:?}: expected '{n}' in:\n{text}");
    }
}

/// An IDX file: `magic` (0x803 for images, 0x801 for labels), the dimensions, then `data`.
pub fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v.extend(data);
    v
}

/// `bytes` gzip-compressed, as data sets are published.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

/// A tiny MNIST-style directory: `n` training and `n` test images of `side` x `side` pixels
/// and 3 classes.
pub fn write_tiny(dir: &Path, n: u32, side: u32) {
    let pixels: Vec<u8> = (0..n * side * side).map(|i| (i * 37 % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    write_idx_data(dir, [side, side], (&pixels, &labels), (&pixels, &labels));
}

/// An empty directory of this test process, for test `name`: `aer-test-<name>-<pid>` in the
/// system's temporary directory. The first call removes those of test processes that have
/// ended, so runs do not pile them up.
pub fn tmpdir(name: &str) -> std::path::PathBuf {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(remove_ended);
    let d = std::env::temp_dir().join(format!("aer-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Remove the `tmpdir`s of processes no longer running (where /proc says which are).
fn remove_ended() {
    let (Ok(entries), true) = (std::fs::read_dir(std::env::temp_dir()), Path::new("/proc/self").exists()) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("aer-test-").and_then(|r| r.rsplit('-').next()).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A pipeline run's `summary.json` without its wall-clock fields, which differ between any two
/// runs: what must be equal, bit for bit, between a run and its resumed twin.
pub fn summary_numbers(path: &Path) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| !k.contains("seconds") && !k.ends_with("_ms") && !k.ends_with("us_per_example"));
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    strip(&mut v);
    v
}

/// An MNIST-style data directory at `dir` (raw IDX files) of `train` and `test` images of
/// h x w pixels: (pixels, labels) each, pixels row-major image after image.
pub fn write_idx_data(dir: &Path, [h, w]: [u32; 2], train: (&[u8], &[u8]), test: (&[u8], &[u8])) {
    std::fs::create_dir_all(dir).unwrap();
    for (prefix, (pixels, labels)) in [("train", train), ("t10k", test)] {
        let n = labels.len() as u32;
        assert_eq!(pixels.len(), (n * h * w) as usize, "{prefix}: {n} images of {h} x {w} pixels");
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), idx(0x803, &[n, h, w], pixels)).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), idx(0x801, &[n], labels)).unwrap();
    }
}
