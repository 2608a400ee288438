//! aer-bench: the native benchmark binary. Runs the suite from `aer::bench` on one adapter and
//! writes a JSON result file.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let filter = args.iter().position(|a| a == "--filter").and_then(|i| args.get(i + 1)).cloned();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    let quick = args.iter().any(|a| a == "--quick");
    let choice = aer::gpu::AdapterChoice::default().or_env();
    let gpu = match pollster::block_on(aer::gpu::Gpu::new(&choice)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("adapter: {}", gpu.adapter_label());
    let runs = if quick { 3 } else { std::env::var("AER_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10) };
    let mut results = Vec::new();
    let sizes: &[usize] = if quick { &[64, 128] } else { &[256, 512, 1024] };
    let want = |id: &str| filter.as_ref().is_none_or(|f| id.contains(f.as_str()));
    for &n in sizes {
        if want(&format!("matmul/f32/{n}")) {
            results.push(pollster::block_on(aer::bench::matmul_entry(&gpu, n, runs)).expect("bench"));
        }
    }
    let batch = if quick { 16 } else { 128 };
    for model in ["mlp", "cnn"] {
        if want(&format!("train_step/{model}/b{batch}")) {
            results.push(pollster::block_on(aer::bench::train_step_entry(&gpu, model, batch, runs)).expect("bench"));
        }
    }
    let steps = if quick { 2 } else { 10 };
    for model in ["mlp", "cnn"] {
        if want(&format!("pgd{steps}/{model}/b{batch}")) {
            results.push(pollster::block_on(aer::bench::pgd_entry(&gpu, model, batch, steps, runs)).expect("bench"));
        }
    }
    for r in &results {
        println!(
            "{:<28} {:>10.3} ms (min {:.3}, max {:.3}, {} runs) {} {}",
            r.id,
            r.median_ms,
            r.min_ms,
            r.max_ms,
            r.runs,
            r.gflops.map(|g| format!("{g:.2} GFLOP/s")).or(r.items_per_s.map(|x| format!("{x:.1} examples/s"))).unwrap_or_default(),
            if r.status == "ok" { String::new() } else { format!("FAILED: {}", r.status) }
        );
    }
    let doc = serde_json::json!({
        "suite_version": aer::bench::SUITE_VERSION,
        "adapter": gpu.summary(),
        "os": std::env::consts::OS,
        "results": results,
    });
    if let Some(path) = out {
        aer::train::write_atomic(std::path::Path::new(&path), serde_json::to_string_pretty(&doc).unwrap().as_bytes()).expect("write results");
        eprintln!("wrote {path}");
    }
}
