//! The benchmark suite: result files round-trip through JSON, `compare` copes with runs of
//! different entry sets, and the quick suite passes its correctness checks on this adapter.

use aer::bench::{check_filter, compare_markdown, compare_svg, run_suite, select, suite, EntryResult, RunReport, SCHEMA_VERSION, SUITE_VERSION};
use aer::gpu::{AdapterChoice, Gpu};
use pollster::block_on;

fn entry(id: &str, ms: f64) -> EntryResult {
    EntryResult { id: id.into(), status: "ok".into(), median_ms: ms, min_ms: ms, max_ms: ms, runs: 3, gflops: Some(1.0), gbytes_per_s: None, timing: "gpu timestamps".into(), items_per_s: None, kernels: None, versus: None, fraction_of_peak: None, bound: None }
}

fn report(gpu: &Gpu, results: Vec<EntryResult>) -> RunReport {
    RunReport { schema_version: SCHEMA_VERSION, suite_version: SUITE_VERSION, adapter: gpu.summary(), os: "linux".into(), arch: "x86_64".into(), git_revision: "abc1234".into(), quick: true, created_unix: 1, peaks: None, results }
}

fn gpu() -> Gpu {
    block_on(Gpu::new(&AdapterChoice::from_env())).expect("a GPU adapter (apt-get install mesa-vulkan-drivers)")
}

#[test]
fn quick_suite_passes_its_checks_and_round_trips() {
    let gpu = gpu();
    let results = block_on(run_suite(&gpu, true, 2, None, &mut |_| {})).unwrap();
    let ids: Vec<String> = suite(true, gpu.has_f16()).iter().map(|e| e.id()).collect();
    assert_eq!(results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    for r in &results {
        assert!(r.ok(), "{}: {}", r.id, r.status);
        assert!(r.min_ms <= r.median_ms && r.median_ms <= r.max_ms && r.runs == 2, "{r:?}");
    }
    // Block-sparse products, step and inference are timed against the dense ones, channel
    // skipping (training, attacks, inference) against every channel, the residual network
    // against itself without batchnorm and shortcuts, each with its speed-up from the same
    // runs; nothing else is paired.
    let paired: Vec<(&str, &str)> = results.iter().filter_map(|r| r.versus.as_ref().map(|v| (r.id.as_str(), v.reference.as_str()))).collect();
    let mut want = vec![
        ("train_step/cnn-b32-s0.91/b4".to_string(), "train_step/cnn/b4".to_string()),
        ("train_step/cnn-wta50-skip/b4".into(), "train_step/cnn-wta50-all-channels/b4".into()),
        ("pgd2/cnn-wta50-skip/b4".into(), "pgd2/cnn-wta50-all-channels/b4".into()),
        ("train_step/resnet20/b4".into(), "train_step/resnet20-plain/b4".into()),
        ("train_step/cnn-twn-b16-s0.91/b4".into(), "train_step/cnn/b4".into()),
    ];
    for id in ids.iter().filter(|id| id.starts_with("bsr_") && !id.contains("/dense/")) {
        // bsr_linear/fwd/b16/d0.50/64x64 against bsr_linear/fwd/dense/64x64.
        let parts: Vec<&str> = id.split('/').collect();
        want.push((id.clone(), format!("{}/{}/dense/{}", parts[0], parts[1], parts[4])));
    }
    for id in ids.iter().filter(|id| id.starts_with("infer/")) {
        // The block-sparse and packed ternary models against the dense one, channel skipping
        // against all channels.
        if id.contains("/bsr-") || id.contains("/ternary/") {
            want.push((id.clone(), format!("infer/cnn/dense/{}", id.rsplit('/').next().unwrap())));
        } else if id.contains("-skip/") {
            want.push((id.clone(), id.replace("-skip/", "-all-channels/")));
        } else if id.contains("/folded/") {
            // Folded batch normalization against evaluating it.
            want.push((id.clone(), id.replace("/folded/", "/dense/")));
        }
    }
    assert!(want.len() > 8, "the quick suite has block-sparse and channel-skipping entries");
    let mut got: Vec<(String, String)> = paired.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for v in results.iter().filter_map(|r| r.versus.as_ref()) {
        assert!(v.speedup.is_finite() && v.speedup > 0.0 && v.reference_median_ms > 0.0, "{v:?}");
    }
    let rep = report(&gpu, results);
    let text = serde_json::to_string_pretty(&rep).unwrap();
    assert_eq!(RunReport::from_json(&text, "t").unwrap(), rep);
    let newer = text.replace(&format!("\"schema_version\": {SCHEMA_VERSION}"), "\"schema_version\": 99");
    // A file of schema 1, before the roofline, still reads.
    let older = text.replace(&format!("\"schema_version\": {SCHEMA_VERSION}"), "\"schema_version\": 1");
    assert_eq!(RunReport::from_json(&older, "older.json").unwrap().results, rep.results);
    assert!(RunReport::from_json(&newer, "newer.json").unwrap_err().to_string().contains("newer.json"));
}

/// An entry whose correctness check fails is reported as failed with the reason, and not
/// timed: no runs, no times, no rates.
#[test]
fn failed_checks_are_reported_and_never_timed() {
    let gpu = gpu();
    aer::bench::inject_check_failures(true);
    let results = block_on(run_suite(&gpu, true, 2, None, &mut |_| {}));
    aer::bench::inject_check_failures(false);
    let results = results.unwrap();
    assert_eq!(results.len(), suite(true, gpu.has_f16()).len());
    for r in &results {
        assert!(!r.ok() && !r.status.is_empty(), "{}: {}", r.id, r.status);
        assert!(r.runs == 0 && r.median_ms == 0.0 && r.gflops.is_none() && r.items_per_s.is_none() && r.timing.is_empty(), "{r:?}");
    }
}

#[test]
fn suite_ids_are_unique_and_filterable() {
    for quick in [false, true] {
        let ids: Vec<String> = suite(quick, true).iter().map(|e| e.id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "{ids:?}");
    }
    let full: Vec<String> = suite(false, true).iter().map(|e| e.id()).collect();
    // Adapters without shader-f16 get no half-precision entries (rather than failing ones).
    assert!(suite(false, false).iter().all(|e| !e.id().contains("f16")) && full.iter().any(|id| id == "linear/ternary-f16/4096x4096/b1"));
    for id in [
        "matmul/f32/1024",
        "train_step/cnn/b128",
        "train_step/cnn-b32-s0.91/b128",
        "pgd10/cnn/b128",
        "train_step/cnn-wta50-skip/b128",
        "pgd10/cnn-wta50-all-channels/b128",
        "conv2d/bwd_data/c16-14x14-k5-o32/b128",
        "pgd_step/linf/b128x784",
        "augmix/mnist/b128",
        "bsr_linear/fwd/b32/d0.10/1024x1024",
        "bsr_linear/bwd_weight/dense/1024x1024",
        "bsr_conv2d/bwd_data/b16/d0.50/cnn-conv2-c16-14x14-k5-o32",
        "infer/cnn/bsr-b16-s0.91/b256",
        "infer/cnn/ternary/b256",
        "infer/resnet20/folded/b128",
        "select_topk/1048576",
    ] {
        assert!(full.contains(&id.to_string()), "{id} missing from {full:?}");
    }
}

#[test]
fn compare_handles_different_entry_sets() {
    let gpu = gpu();
    let a = report(&gpu, vec![entry("matmul/f32/256", 2.0), entry("train_step/mlp/b128", 10.0)]);
    let mut failed = entry("pgd10/mlp/b128", 0.0);
    failed.status = "wrong result".into();
    let b = report(&gpu, vec![entry("matmul/f32/256", 1.0), failed, entry("conv2d/fwd/x", 3.0)]);
    let md = compare_markdown(&[a.clone(), b.clone()]);
    let rows: Vec<&str> = md.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), 4, "{md}");
    assert!(rows[0].contains("2.000 ms") && rows[0].contains("1.000 ms (2.00x)"), "{md}");
    assert!(rows[1].contains("10.000 ms") && rows[1].contains("—"), "{md}");
    assert!(rows[2].contains("failed"), "{md}");
    assert!(rows[3].contains("3.000 ms"), "{md}");
    let svg = compare_svg(&[a, b]);
    assert!(svg.starts_with("<svg") && svg.contains("2.00x") && svg.contains("not run"), "{svg}");
}

/// `--profile` breaks an entry down by kernel: a train step lists the matmul and Adam kernels
/// it launched, with their times, largest first.
#[test]
fn profile_breaks_an_entry_down_by_kernel() {
    let gpu = gpu();
    if !gpu.has_timestamps() {
        eprintln!("skipped: adapter without timestamp queries");
        return;
    }
    aer::bench::profile_kernels(true);
    let results = block_on(run_suite(&gpu, true, 2, Some("train_step/mlp"), &mut |_| {}));
    aer::bench::profile_kernels(false);
    let r = &results.unwrap()[0];
    assert!(r.ok(), "{r:?}");
    let kernels = r.kernels.as_ref().expect("a profiled entry has its kernels");
    assert!(kernels.iter().any(|k| k.kernel.starts_with("matmul::")) && kernels.iter().any(|k| k.kernel.contains("adam")), "{kernels:?}");
    assert!(kernels.iter().all(|k| k.launches > 0 && k.total_ms >= 0.0) && kernels[0].total_ms > 0.0, "{kernels:?}");
    assert!(kernels.windows(2).all(|w| w[0].total_ms >= w[1].total_ms), "{kernels:?}");
    // Unprofiled runs carry no breakdown.
    let plain = block_on(run_suite(&gpu, true, 2, Some("train_step/mlp"), &mut |_| {})).unwrap();
    assert!(plain[0].kernels.is_none());
}

/// Run aer-bench; its exit code and what it printed.
fn aer_bench(args: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aer-bench"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("AER_CACHE_DIR", std::env::temp_dir().join("aer-test-cache"))
        .env_remove("AER_BENCH_RUNS")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout))
}

/// Bad command lines are refused with a message naming the problem and the fix, a non-zero
/// exit and no panic: no timed runs, a filter that matches nothing, compare on a file that is
/// missing or not a result.
#[test]
fn bad_input_is_refused_clearly() {
    let d = std::env::temp_dir().join(format!("aer-bench-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    std::fs::write(p("notes.txt"), "not a result\n").unwrap();
    std::fs::write(p("other.json"), "{\"name\": \"x\"}").unwrap();
    std::fs::write(p("fields.json"), format!("{{\"schema_version\": {SCHEMA_VERSION}}}")).unwrap();
    let (svg, missing, notes, other, fields) = (p("c.svg"), p("missing.json"), p("notes.txt"), p("other.json"), p("fields.json"));
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (vec!["--quick", "--runs", "0"], vec!["--runs".into(), "at least 1".into()]),
        (vec!["--quick", "--runs", "many"], vec!["--runs".into(), "many".into()]),
        (vec!["--quick", "--filter", "matmul/f64"], vec!["matmul/f64".into(), "matches no entry".into(), "matmul/f32/64".into(), "--list".into()]),
        (vec!["--filter", "train_step/vgg"], vec!["train_step/vgg".into(), "closest".into(), "train_step/".into()]),
        (vec!["compare", &missing, "--svg", &svg], vec![missing.clone(), "cannot read".into(), "aer-bench --out".into()]),
        (vec!["compare", &notes, "--svg", &svg], vec![notes.clone(), "not JSON".into()]),
        (vec!["compare", &other, "--svg", &svg], vec![other.clone(), "schema".into(), "rerun aer-bench".into()]),
        (vec!["compare", &fields, "--svg", &svg], vec![fields.clone(), "not a benchmark result".into()]),
    ];
    let mut failures = Vec::new();
    for (args, needles) in &cases {
        let (code, text) = aer_bench(args);
        if code == Some(0) || code == Some(101) || code.is_none() || text.contains("panicked at") {
            failures.push(format!("{args:?}: exit {code:?}:\n{text}"));
        } else if let Some(n) = needles.iter().find(|n| !text.contains(n.as_str())) {
            failures.push(format!("{args:?}: '{n}' not in: {text}"));
        }
    }
    let _ = std::fs::remove_dir_all(&d);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The library refuses zero runs too.
    let gpu = gpu();
    let err = block_on(run_suite(&gpu, true, 0, None, &mut |_| {})).unwrap_err().to_string();
    assert!(err.contains("at least 1"), "{err}");
}

/// On an adapter without shader-f16 the half-precision entries are skipped with one line
/// saying which and why; a filter that matches only them is refused; without timestamp
/// queries the run says that it times by the wall clock (and that --profile has nothing).
#[test]
fn entries_an_adapter_cannot_run_are_named_once() {
    let mut adapter = gpu().summary();
    adapter.shader_f16 = false;
    adapter.timestamp_queries = false;
    let s = select(false, Some("4096x4096"), &adapter, true).unwrap();
    assert!(!s.entries.is_empty() && s.entries.iter().all(|e| !e.id().contains("f16")), "{:?}", s.entries);
    assert_eq!(s.notes.len(), 3, "{:?}", s.notes);
    assert!(s.notes[0].contains("skipping 3 entries") && s.notes[0].contains("linear/ternary-f16/4096x4096/b1") && s.notes[0].contains("no shader-f16") && s.notes[0].contains(&adapter.name), "{:?}", s.notes);
    assert!(s.notes[1].contains("wall clock") && s.notes[2].contains("--profile"), "{:?}", s.notes);
    let err = select(false, Some("ternary-f16"), &adapter, false).unwrap_err().to_string();
    assert!(err.contains("shader-f16") && err.contains(&adapter.name) && err.contains("aer adapters"), "{err}");
    // An adapter with both runs everything the filter matches, without notes.
    adapter.shader_f16 = true;
    adapter.timestamp_queries = true;
    let s = select(false, Some("4096x4096"), &adapter, true).unwrap();
    assert!(s.notes.is_empty() && s.entries.len() == 9, "{:?} {:?}", s.notes, s.entries);
    assert!(check_filter(true, Some("no-such-entry")).unwrap_err().to_string().contains("closest"));
}

/// The driver's pipeline cache file: written after a run, and a corrupt, cut-short or other
/// device's file is ignored with a warning (the run still works) and replaced.
#[test]
fn a_corrupt_or_foreign_pipeline_cache_is_ignored() {
    let d = std::env::temp_dir().join(format!("aer-pipeline-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_aer-bench"))
            .args(["--quick", "--filter", "matmul/f32/64", "--runs", "1"])
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .env("AER_CACHE_DIR", &d)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("matmul/f32/64") && !text.contains("FAILED"), "{text}");
        text
    };
    run();
    let file = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with("pipelines-"));
    let Some(file) = file else {
        eprintln!("skipped: this adapter's backend keeps no pipeline cache");
        return;
    };
    let good = std::fs::read(&file).unwrap();
    assert!(good.starts_with(b"WGPUPLCH") && good.len() >= 64, "{} bytes", good.len());
    let mut foreign = good.clone();
    foreign[20] ^= 0xff; // the adapter's key: another device's cache
    for (what, bytes) in [("garbage", b"garbage, not a cache".to_vec()), ("cut short", good[..good.len() - 1].to_vec()), ("another device's", foreign)] {
        std::fs::write(&file, &bytes).unwrap();
        let text = run();
        assert!(text.contains("ignoring") && text.contains(&file.display().to_string()), "{what}: {text}");
        assert_eq!(std::fs::read(&file).unwrap()[..8], good[..8], "{what}: the file is rebuilt");
    }
    // A whole cache is read without complaint.
    let text = run();
    assert!(!text.contains("ignoring"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The roofline: both peaks measured (positive and finite), and an entry's fraction of the
/// peak that bounds it: compute where its FLOPs per byte times the bandwidth exceed the FMA
/// peak, memory where they do not or it moves bytes only, none without either or on failure.
#[test]
fn roofline_fractions_name_their_bound() {
    use aer::bench::{fraction_of_peak, measure_peaks, Peaks};
    let peaks = block_on(measure_peaks(&gpu(), true, 2)).unwrap();
    assert!(peaks.gflops.is_finite() && peaks.gflops > 0.0 && peaks.gbps.is_finite() && peaks.gbps > 0.0, "{peaks:?}");
    let p = Peaks { gflops: 40.0, gbps: 10.0, formula: None };
    let with = |gflops: Option<f64>, gbytes: Option<f64>| EntryResult { gflops, gbytes_per_s: gbytes, ..entry("e", 1.0) };
    // 10 FLOP per byte x 10 GB/s = 100 >= 40: compute-bound, at 10 of 40.
    assert_eq!(fraction_of_peak(&with(Some(10.0), Some(1.0)), &p), Some((0.25, "compute")));
    // 0.2 FLOP per byte x 10 GB/s = 2 < 40: memory-bound, at 5 of 10 GB/s.
    assert_eq!(fraction_of_peak(&with(Some(1.0), Some(5.0)), &p), Some((0.5, "memory")));
    assert_eq!(fraction_of_peak(&with(None, Some(2.0)), &p), Some((0.2, "memory")));
    assert_eq!(fraction_of_peak(&with(Some(4.0), None), &p), Some((0.1, "compute")));
    assert_eq!(fraction_of_peak(&with(None, None), &p), None);
    assert_eq!(fraction_of_peak(&EntryResult { status: "wrong".into(), ..with(Some(1.0), None) }, &p), None);
}

/// The matmul tune table goes through the per-adapter cache (the crossover's) and back, its
/// shape classes rounding each dimension up to a power of two; a table of another adapter or
/// version, or a file that is none, is ignored, and the launcher's defaults serve. The same
/// for the cutoffs between kernels, which a model reads when built.
#[test]
fn tune_tables_round_trip_and_foreign_tables_are_ignored() {
    use aer::kernels::tune::{cache_path, store, MatmulChoice, MatmulTable, MATMUL_TABLE, MATMUL_TABLE_VERSION};
    use aer::kernels::{MatmulConfig, MatmulForm, MatmulVariant};
    let d = std::env::temp_dir().join(format!("aer-matmul-table-{}", std::process::id()));
    std::env::set_var("AER_CACHE_DIR", &d);
    let gpu = gpu();
    let config = MatmulConfig { kernel: MatmulVariant::Wide, lanes: [4, 2, 1], splits: 2 };
    let class = MatmulTable::class(MatmulForm::NT, 100, 300, 784, false);
    assert_eq!(class, "NT/m128/n512/k1024");
    let choice = MatmulChoice { config, shape: "100 x 300 x 784".into(), ms: 1.5, speedup: 1.2 };
    let table = MatmulTable { version: MATMUL_TABLE_VERSION, adapter: gpu.adapter_label(), source: "test".into(), choices: [(class, choice)].into() };
    assert_eq!(MatmulTable::load(&gpu), None, "no table cached yet");
    let path = store(MATMUL_TABLE, &table.adapter, &table).unwrap();
    assert_eq!(path, cache_path(MATMUL_TABLE, &gpu.adapter_label()).unwrap());
    let loaded = MatmulTable::load(&gpu).expect("the stored table");
    assert_eq!(loaded, table);
    assert_eq!(loaded.choice(MatmulForm::NT, 65, 257, 513, false), Some(config), "the same class");
    assert_eq!(loaded.choice(MatmulForm::NT, 64, 300, 784, false), None, "m = 64 is the class below");
    assert_eq!(loaded.choice(MatmulForm::NT, 100, 300, 784, true), None, "accumulating is a class of its own");
    assert_eq!(loaded.choice(MatmulForm::NN, 100, 300, 784, false), None, "so is each form");
    let other_adapter = MatmulTable { adapter: "Another GPU (vulkan)".into(), ..table.clone() };
    let other_version = MatmulTable { version: MATMUL_TABLE_VERSION + 1, ..table.clone() };
    for other in [other_adapter, other_version] {
        store(MATMUL_TABLE, &gpu.adapter_label(), &other).unwrap();
        assert_eq!(MatmulTable::load(&gpu), None, "{other:?}");
    }
    std::fs::write(&path, "not a table").unwrap();
    assert_eq!(MatmulTable::load(&gpu), None);

    // The cutoffs between kernels likewise (in this test: it shares the cache directory): a
    // model built after `aer tune` cached them reads them, and the shipped ones otherwise.
    use aer::kernels::tune::{Cutoffs, CUTOFFS_TABLE};
    let build = || aer::nn::Model::new(&gpu, &aer::nn::ModelSpec::load("mlp").unwrap(), [1, 28, 28], 10, 0).unwrap();
    assert_eq!(build().cutoffs(), &Cutoffs::shipped(), "none cached yet");
    let tuned = Cutoffs { adapter: gpu.adapter_label(), source: "test".into(), skip_linear_max_batch: 3, packed_training_min_weights: usize::MAX };
    store(CUTOFFS_TABLE, &tuned.adapter, &tuned).unwrap();
    assert_eq!(build().cutoffs(), &tuned);
    store(CUTOFFS_TABLE, &gpu.adapter_label(), &Cutoffs { adapter: "Another GPU (vulkan)".into(), ..tuned.clone() }).unwrap();
    assert_eq!(build().cutoffs(), &Cutoffs::shipped(), "another adapter's cutoffs");
    let _ = std::fs::remove_dir_all(&d);
}
