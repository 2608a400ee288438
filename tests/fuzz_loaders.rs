//! Mutation fuzzing of every loader of outside input: IDX and CIFAR data, checkpoints (and
//! `aer resave`'s reader), `aer import`'s weights, pipeline, model and training TOML, and
//! `aer-bench compare`'s result JSON. Each case is a valid seed after one to four random
//! edits (bit flips, interesting bytes, inserts, deletes, truncation, length fields, numbers
//! in text, splices); the loader must return (a value or a refusal), never panic, and finish
//! within `CASE_LIMIT`. A checkpoint that loads must hold exactly what was written: with its
//! checksum, an edit may only touch bytes that mean nothing (JSON spacing).
//!
//! Fixed seed, `AER_FUZZ_ITERS` cases per loader (300 by default: seconds);
//! `scripts/fuzz-loaders.sh` runs more (and `AER_FUZZ_SEED` another sequence).

mod common;

use aer::train::{Checkpoint, TrainConfig};
use common::{gzip, idx};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// Longer than any loader takes on these small inputs by orders of magnitude: a case past it
/// is a hang.
const CASE_LIMIT: Duration = Duration::from_secs(10);

/// What a loader did with a case: whether it loaded, `Err` only for a silent wrong result
/// (a refusal is fine).
type Check = Box<dyn Fn(&[u8]) -> Result<bool, String> + Send + Sync>;

struct Loader {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    check: Check,
}

#[derive(Default, Debug)]
struct Outcome {
    cases: usize,
    loaded: usize,
    refused: usize,
    panics: Vec<String>,
    wrong: Vec<String>,
    hang: Option<String>,
    slowest: Duration,
}

// ---- mutations -------------------------------------------------------------------------

const INTERESTING_U32: [u32; 9] = [0, 1, 2, 0x7f, 0xff, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];
const INTERESTING_TEXT: [&str; 14] = ["0", "-1", "1e308", "-1e308", "nan", "inf", "99999999999999999999", "18446744073709551615", "4294967296", "9223372036854775807", "0.0", "\"\"", "[]", "{}"];

/// A position, half the time in the first 96 bytes, where headers are.
fn position(rng: &mut StdRng, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    if rng.random_bool(0.5) {
        rng.random_range(0..len.min(96))
    } else {
        rng.random_range(0..len)
    }
}

fn mutate_once(rng: &mut StdRng, v: &mut Vec<u8>, seeds: &[Vec<u8>]) -> &'static str {
    let len = v.len();
    match rng.random_range(0..10) {
        0 if len > 0 => {
            let p = position(rng, len);
            v[p] ^= 1 << rng.random_range(0..8);
            "bit flip"
        }
        1 if len > 0 => {
            let p = position(rng, len);
            v[p] = [0u8, 0xff, 0x7f, 0x80, b'"', b'[', b'=', b'\n'][rng.random_range(0..8)];
            "interesting byte"
        }
        2 => {
            let p = position(rng, len + 1);
            let n = rng.random_range(1..=16);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            v.splice(p..p, bytes);
            "insert"
        }
        3 if len > 0 => {
            let p = position(rng, len);
            let n = rng.random_range(1..=16).min(len - p);
            v.drain(p..p + n);
            "delete"
        }
        4 => {
            let keep = rng.random_range(0..=len);
            v.truncate(keep);
            "truncate"
        }
        5 if len >= 4 => {
            // A length or size field: 4 bytes either endian, or safetensors' 8-byte header size.
            let x = INTERESTING_U32[rng.random_range(0..INTERESTING_U32.len())];
            let p = position(rng, len - 3);
            let bytes = if rng.random_bool(0.5) { x.to_be_bytes() } else { x.to_le_bytes() };
            v[p..p + 4].copy_from_slice(&bytes);
            "length field"
        }
        6 if len >= 8 => {
            let x: u64 = [0, 8, u64::MAX, u64::MAX / 2, len as u64, len as u64 + 1, 1 << 40][rng.random_range(0..7)];
            v[0..8].copy_from_slice(&x.to_le_bytes());
            "header size"
        }
        7 => {
            // A number in text (or any digit run in binary) replaced by an awkward one.
            let digits: Vec<usize> = (0..len).filter(|&i| v[i].is_ascii_digit() && (i == 0 || !v[i - 1].is_ascii_digit())).collect();
            if digits.is_empty() {
                return "no number";
            }
            let start = digits[rng.random_range(0..digits.len())];
            let end = (start..len).find(|&i| !v[i].is_ascii_digit() && v[i] != b'.').unwrap_or(len);
            let with = INTERESTING_TEXT[rng.random_range(0..INTERESTING_TEXT.len())];
            v.splice(start..end, with.bytes());
            "number"
        }
        8 => {
            // A splice: a piece of another seed (or this one) over a piece of this one.
            let other = &seeds[rng.random_range(0..seeds.len())];
            if other.is_empty() {
                return "empty splice";
            }
            let from = rng.random_range(0..other.len());
            let n = rng.random_range(1..=64).min(other.len() - from);
            let p = position(rng, len + 1);
            let end = (p + rng.random_range(0..=n)).min(len);
            v.splice(p..end, other[from..from + n].iter().copied());
            "splice"
        }
        9 if len > 1 => {
            // A line or chunk repeated: duplicate keys and tables in text.
            let a = position(rng, len);
            let n = rng.random_range(1..=48).min(len - a);
            let chunk = v[a..a + n].to_vec();
            let p = rng.random_range(0..=len);
            v.splice(p..p, chunk);
            "duplicate"
        }
        _ => "none",
    }
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> (Vec<u8>, String) {
    let mut v = seeds[rng.random_range(0..seeds.len())].clone();
    let n = rng.random_range(1..=4);
    let what: Vec<&str> = (0..n).map(|_| mutate_once(rng, &mut v, seeds)).collect();
    (v, what.join(", "))
}

// ---- the harness -----------------------------------------------------------------------

/// The last panic's message and place: while a loader is fuzzed, panics are caught and kept
/// here instead of printed.
fn last_panic() -> &'static std::sync::Mutex<String> {
    static LAST: std::sync::OnceLock<std::sync::Mutex<String>> = std::sync::OnceLock::new();
    LAST.get_or_init(Default::default)
}

/// Run `iters` mutated cases through `loader` on a worker thread, each bounded by CASE_LIMIT.
fn fuzz(loader: Loader, iters: usize, seed: u64, limit: Duration) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let Loader { name, seeds, check } = loader;
    // Every seed loads as it is: a loader that refused everything would pass unnoticed.
    for (k, s) in seeds.iter().enumerate() {
        assert_eq!(check(s), Ok(true), "{name}: seed {k} does not load unchanged");
    }
    std::panic::set_hook(Box::new(|info| *last_panic().lock().unwrap_or_else(|e| e.into_inner()) = info.to_string()));
    std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed);
        for i in 0..iters {
            let (bytes, how) = mutate(&mut rng, &seeds);
            let start = Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
            let result = result.map_err(|payload| {
                let what = payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                let place = last_panic().lock().map(|m| m.clone()).unwrap_or_default();
                format!("{what} ({place})")
            });
            if tx.send((i, how, start.elapsed(), result)).is_err() {
                return;
            }
        }
    });
    let mut out = Outcome::default();
    for i in 0..iters {
        match rx.recv_timeout(limit) {
            Ok((_, how, took, result)) => {
                out.cases += 1;
                out.slowest = out.slowest.max(took);
                match result {
                    Ok(Ok(true)) => out.loaded += 1,
                    Ok(Ok(false)) => out.refused += 1,
                    Ok(Err(wrong)) => out.wrong.push(format!("{name} case {i} ({how}): {wrong}")),
                    Err(panic) => out.panics.push(format!("{name} case {i} ({how}): {panic}")),
                }
            }
            Err(_) => {
                // The worker is stuck in a loader: it stays behind, the test fails.
                out.hang = Some(format!("{name} case {i}: no answer in {limit:?} (seed {seed})"));
                break;
            }
        }
    }
    // Panics outside the cases (the test's own assertions) print again.
    drop(std::panic::take_hook());
    out
}

/// Adapt a loader that returns a value or a refusal: `Ok(true)` when it loaded.
fn loads<T, E>(r: Result<T, E>) -> Result<bool, String> {
    Ok(r.is_ok())
}

// ---- seeds -----------------------------------------------------------------------------

fn files(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<_> = std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == ext)).collect();
    out.sort();
    out.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// A small pruned mlp checkpoint with Adam state, as `aer train` writes one.
fn small_checkpoint() -> Checkpoint {
    let spec = aer::nn::ModelSpec::from_toml("name = \"tiny\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\nout = 4\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"linear\"\n", "tiny").unwrap();
    let mut tensors = BTreeMap::new();
    for (name, shape) in [("fc1.weight", vec![4, 6]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 4]), ("fc2.bias", vec![3])] {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 1.0).collect();
        for slot in ["exp_avg", "exp_avg_sq"] {
            tensors.insert(format!("optimizer.{name}.{slot}"), (shape.clone(), v.iter().map(|x| x * 0.01).collect()));
        }
        tensors.insert(name.to_string(), (shape, v));
    }
    tensors.insert("mask.fc1.weight".into(), (vec![4, 6], (0..24).map(|i| (i % 3 != 0) as u8 as f32).collect()));
    Checkpoint { spec, input: [1, 2, 3], classes: 3, epoch: 2, config: TrainConfig::default(), optimizer_step: 7, tensors, packed: BTreeMap::new(), history: Vec::new(), temperature: None }
}

/// A packed checkpoint (`aer quantize`): fc2's weight as ternary codes with its scales.
fn packed_checkpoint() -> Checkpoint {
    let mut ck = small_checkpoint();
    ck.tensors.retain(|k, _| !k.starts_with("optimizer.") && !k.starts_with("mask."));
    ck.tensors.remove("fc2.weight");
    ck.packed.insert("fc2.weight".into(), ([3, 4], vec![0b01_11_00_01; 3]));
    ck.tensors.insert("fc2.weight.scale_pos".into(), (vec![1], vec![0.5]));
    ck.tensors.insert("fc2.weight.scale_neg".into(), (vec![1], vec![0.25]));
    ck.optimizer_step = 0;
    ck
}

/// The same checkpoint written before checksums were mandatory.
fn without_checksum(bytes: &[u8]) -> Vec<u8> {
    let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    meta.remove("crc32");
    safetensors::serialize(st.tensors(), Some(meta)).unwrap()
}

fn same_checkpoint(a: &Checkpoint, b: &Checkpoint) -> bool {
    a.spec == b.spec && a.input == b.input && a.classes == b.classes && a.epoch == b.epoch && a.config == b.config && a.optimizer_step == b.optimizer_step && a.packed == b.packed && a.history == b.history
        && a.tensors.len() == b.tensors.len()
        && a.tensors.iter().zip(&b.tensors).all(|((ka, (sa, va)), (kb, (sb, vb)))| ka == kb && sa == sb && va.iter().map(|x| x.to_bits()).eq(vb.iter().map(|x| x.to_bits())))
}

fn safetensors_f32(tensors: &[(&str, Vec<usize>)], dtype: safetensors::Dtype) -> Vec<u8> {
    let width = dtype.bitsize() / 8;
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors.iter().map(|(n, s)| (n.to_string(), s.clone(), (0..s.iter().product::<usize>() * width).map(|i| (i * 37 % 251) as u8).collect())).collect();
    let views: Vec<_> = data.iter().map(|(n, s, b)| (n.clone(), safetensors::tensor::TensorView::new(dtype, s.clone(), b).unwrap())).collect();
    safetensors::serialize(views, None).unwrap()
}

/// A run file's tables, as `aer train --config` reads them.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RunFile {
    train: Option<TrainConfig>,
    attack: Option<aer::attack::AttackSettings>,
    prune: Option<aer::sparse::LotteryConfig>,
}

fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

fn loaders() -> Vec<Loader> {
    let images = idx(0x803, &[3, 4, 4], &(0..48).collect::<Vec<u8>>());
    let labels = idx(0x801, &[3], &[1, 0, 2]);
    let (im, lb) = (images.clone(), labels.clone());
    let cifar = |label_bytes: usize, label: u8| -> Vec<u8> { (0..2).flat_map(|r| std::iter::repeat_n(label, label_bytes).chain((0..3072).map(move |i| ((i + r) % 256) as u8))).collect() };
    let ck = small_checkpoint();
    let ck_bytes = ck.to_bytes().unwrap();
    let packed = packed_checkpoint();
    let packed_bytes = packed.to_bytes().unwrap();
    let shipped = std::fs::read(Path::new(ROOT).join("assets/models/mlp-demo.safetensors")).unwrap();
    let shipped_ck = Checkpoint::from_bytes(&shipped).unwrap();
    let expected: Vec<(String, Vec<usize>)> = [("fc1.weight", vec![4, 6]), ("fc1.bias", vec![4]), ("fc2.weight", vec![3, 4]), ("fc2.bias", vec![3])].into_iter().map(|(n, s)| (n.to_string(), s)).collect();
    let named: Vec<(&str, Vec<usize>)> = expected.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
    let sequential: Vec<(&str, Vec<usize>)> = vec![("net.1.weight", vec![4, 6]), ("net.1.bias", vec![4]), ("net.3.weight", vec![3, 4]), ("net.3.bias", vec![3])];
    let model_seeds: Vec<Vec<u8>> = files("assets/configs", "toml").into_iter().filter(|b| text(b).is_some_and(|t| t.contains("[[layers]]"))).collect();
    let train_seeds: Vec<Vec<u8>> = files("assets/configs", "toml").into_iter().filter(|b| text(b).is_some_and(|t| t.contains("[train]"))).chain([b"[train]\nepochs = 3\nschedule = \"constant\"\n[train.optimizer]\nkind = \"sgd\"\nlr = 0.1\n[attack]\neps = 0.3\nattacks = [\"pgd\"]\n[prune]\nrounds = 2\nrate = 0.2\n".to_vec()]).collect();
    let bench_seeds = files("benches/results", "json");
    let bench_base = aer::bench::RunReport::from_json(text(&bench_seeds[0]).unwrap(), "seed").unwrap();
    vec![
        Loader { name: "IDX images", seeds: vec![images.clone(), gzip(&images)], check: Box::new(move |b| loads(aer::data::parse_idx(b, 3).and(aer::data::idx_dataset(b, &lb, "fuzz").map_err(|e| e.to_string())))) },
        Loader { name: "IDX labels", seeds: vec![labels.clone(), gzip(&labels)], check: Box::new(move |b| loads(aer::data::idx_dataset(&im, b, "fuzz"))) },
        Loader {
            name: "CIFAR batch",
            seeds: vec![cifar(1, 7), cifar(2, 42)],
            check: Box::new(|b| Ok(aer::data::parse_cifar_batch(b, aer::data::Cifar::Ten).is_ok() | aer::data::parse_cifar_batch(b, aer::data::Cifar::Hundred).is_ok())),
        },
        Loader {
            name: "checkpoint",
            seeds: vec![ck_bytes.clone(), shipped.clone(), packed_bytes.clone()],
            check: Box::new(move |b| match Checkpoint::from_bytes(b) {
                Err(e) if e.is_empty() => Err("an empty refusal".into()),
                Err(_) => Ok(false),
                Ok(got) if [&ck, &shipped_ck, &packed].iter().any(|want| same_checkpoint(&got, want)) => Ok(true),
                Ok(got) => Err(format!("loaded a checkpoint that differs from what was written (model '{}', {} tensors)", got.spec.name, got.tensors.len())),
            }),
        },
        Loader { name: "checkpoint (aer resave)", seeds: vec![without_checksum(&ck_bytes), without_checksum(&packed_bytes), ck_bytes.clone()], check: Box::new(|b| loads(Checkpoint::from_bytes_unchecked(b))) },
        Loader {
            name: "aer import",
            seeds: vec![safetensors_f32(&named, safetensors::Dtype::F32), safetensors_f32(&sequential, safetensors::Dtype::F16)],
            check: Box::new(move |b| loads(aer::nn::interop::read_tensors(b, "fuzz").and_then(|f| aer::nn::interop::match_tensors(&f, &expected, "fuzz")))),
        },
        Loader {
            name: "pipeline TOML",
            seeds: files("assets/pipelines", "toml"),
            check: Box::new(|b| loads(text(b).ok_or(()).and_then(|t| aer::pipeline::parse(t, "fuzz", 64).map_err(|_| ())))),
        },
        Loader {
            name: "model TOML",
            seeds: model_seeds,
            check: Box::new(|b| {
                let Some(spec) = text(b).and_then(|t| aer::nn::ModelSpec::from_toml(t, "fuzz").ok()) else { return Ok(false) };
                // What every command computes from a spec before it builds anything.
                let shaped = [[1, 28, 28], [3, 32, 32]].iter().any(|&input| spec.shapes(input, 10).is_ok() && spec.learned_parameters(input, 10).is_ok());
                let _ = spec.weight_names();
                // What a checkpoint stores must read back as the same spec.
                match aer::nn::ModelSpec::from_toml(&spec.to_toml(), "round trip") {
                    Ok(back) if back.to_toml() == spec.to_toml() => Ok(shaped),
                    Ok(_) => Err("the spec reads back differently from its TOML".into()),
                    Err(e) => Err(format!("the spec's own TOML does not read back: {e}")),
                }
            }),
        },
        Loader {
            name: "train TOML",
            seeds: train_seeds,
            check: Box::new(|b| {
                let Some(file) = text(b).and_then(|t| toml::from_str::<RunFile>(t).ok()) else { return Ok(false) };
                let Some(cfg) = file.train else { return Ok(true) };
                // What `aer train` checks before it starts: the schedule, each method table.
                let Ok(cfg) = aer::methods::REGISTRY.check(&cfg) else { return Ok(false) };
                for step in [0, 1, 50, 99, 100] {
                    let _ = cfg.lr_at(step, 100);
                }
                Ok(true)
            }),
        },
        Loader {
            name: "benchmark JSON",
            seeds: bench_seeds,
            check: Box::new(move |b| {
                let Some(run) = text(b).and_then(|t| aer::bench::RunReport::from_json(t, "fuzz").ok()) else { return Ok(false) };
                let runs = [bench_base.clone(), run];
                let _ = (aer::bench::compare_markdown(&runs), aer::bench::compare_svg(&runs));
                Ok(true)
            }),
        },
    ]
}

#[test]
fn loaders_survive_mutated_inputs() {
    let iters: usize = std::env::var("AER_FUZZ_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seed: u64 = std::env::var("AER_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(33);
    let started = Instant::now();
    let mut failures = Vec::new();
    println!("{:<26} {:>6} {:>7} {:>8} {:>7} {:>6} {:>6} {:>9}", "loader", "cases", "loaded", "refused", "panics", "hangs", "wrong", "slowest");
    for (k, loader) in loaders().into_iter().enumerate() {
        let name = loader.name;
        let out = fuzz(loader, iters, seed.wrapping_mul(1000).wrapping_add(k as u64), CASE_LIMIT);
        println!("{name:<26} {:>6} {:>7} {:>8} {:>7} {:>6} {:>6} {:>7.1}ms", out.cases, out.loaded, out.refused, out.panics.len(), out.hang.is_some() as usize, out.wrong.len(), out.slowest.as_secs_f64() * 1e3);
        failures.extend(out.panics.iter().take(5).map(|p| format!("PANIC {p}")));
        failures.extend(out.wrong.iter().take(5).map(|w| format!("WRONG {w}")));
        failures.extend(out.hang.map(|h| format!("HANG {h}")));
    }
    println!("{iters} cases per loader, seed {seed}, {:.1} s", started.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The harness finds what it looks for: a loader that panics on some inputs, one that returns
/// a wrong result, and one that hangs.
#[test]
fn the_harness_catches_panics_wrong_results_and_hangs() {
    let seeds = vec![b"0123456789".to_vec()];
    let panicky = Loader { name: "panicky", seeds: seeds.clone(), check: Box::new(|b| if b.len() == 10 { Ok(true) } else { panic!("length {}", b.len()) }) };
    let out = fuzz(panicky, 50, 1, CASE_LIMIT);
    assert!(!out.panics.is_empty() && out.panics[0].contains("length"), "{out:?}");
    let wrong = Loader { name: "wrong", seeds: seeds.clone(), check: Box::new(|b| if b == b"0123456789" { Ok(true) } else { Err("differs".into()) }) };
    assert!(!fuzz(wrong, 50, 1, CASE_LIMIT).wrong.is_empty());
    let slow = Loader { name: "slow", seeds, check: Box::new(|b| {
        if b != b"0123456789" {
            std::thread::sleep(Duration::from_secs(2));
        }
        Ok(true)
    }) };
    assert!(fuzz(slow, 50, 1, Duration::from_millis(200)).hang.is_some());
}
