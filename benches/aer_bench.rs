//! aer-bench: the native benchmark binary. Runs the suite from `aer::bench` on one adapter, a
//! chosen list or every adapter found, writing one JSON file per adapter; `compare` lays
//! result files side by side as a Markdown table and an SVG chart.

use aer::bench::{annotate, check_filter, fraction_of_peak, measure_peaks, compare_markdown, compare_svg, profile_kernels, run_suite, select, suite, RunReport, SCHEMA_VERSION, SUITE_VERSION};
use aer::gpu::{list_adapters, AdapterChoice, Gpu};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(name = "aer-bench", about = "Cross-vendor GPU benchmark of aer's kernels and end-to-end steps")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print a Markdown table of several result files (ratios against the first) and write an
    /// SVG chart.
    Compare {
        /// Result files written by `aer-bench --out`.
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// Where the chart goes.
        #[arg(long, default_value = "bench-compare.svg")]
        svg: PathBuf,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Tiny sizes, a few seconds in all (CI runs this).
    #[arg(long)]
    quick: bool,
    /// Only entries whose id contains this text, e.g. matmul/f32/1024 or train_step.
    #[arg(long)]
    filter: Option<String>,
    /// Adapters by name (substring, case-insensitive); repeat for several. Default: the
    /// WGPU_ADAPTER_NAME / WGPU_BACKEND choice, else the best adapter.
    #[arg(long)]
    adapter: Vec<String>,
    /// Restrict to a backend: vulkan, gl, metal, dx12.
    #[arg(long, env = "WGPU_BACKEND")]
    backend: Option<String>,
    /// Every adapter found (add SwiftShader with VK_ADD_DRIVER_FILES=.../vk_swiftshader_icd.json).
    #[arg(long)]
    all_adapters: bool,
    /// Timed runs per entry after warm-up (at least 1).
    #[arg(long, env = "AER_BENCH_RUNS", value_parser = at_least_one_run)]
    runs: Option<usize>,
    /// Print every entry's id (of the quick suite with --quick) and exit.
    #[arg(long)]
    list: bool,
    /// Run each entry once more with every kernel launch timed, and print (and save) where
    /// its time goes, kernel by kernel.
    #[arg(long)]
    profile: bool,
    /// Result file (one adapter) or directory (one <adapter>.json each).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn at_least_one_run(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0 runs would time nothing: give at least 1 (the default is 10, 3 with --quick)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a number of runs: give a whole number of at least 1")),
    }
}

fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn slug(name: &str) -> String {
    let s: String = name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-")
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}

fn main() {
    aer::cli::init_logging();
    let cli = Cli::parse();
    match cli.command {
        Some(Cmd::Compare { files, svg }) => compare(&files, &svg),
        None => run(&cli.run),
    }
}

fn compare(files: &[PathBuf], svg: &Path) {
    let runs: Vec<RunReport> = files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_else(|e| fail(format!("{}: cannot read: {e}; compare takes result files written by `aer-bench --out`", f.display())));
            RunReport::from_json(&text, &f.display().to_string()).unwrap_or_else(|e| fail(e))
        })
        .collect();
    print!("{}", compare_markdown(&runs));
    aer::files::write_atomic(svg, compare_svg(&runs).as_bytes()).unwrap_or_else(|e| fail(e));
    eprintln!("wrote {}", svg.display());
}

fn run(a: &RunArgs) {
    if a.list {
        for e in suite(a.quick, true) {
            println!("{}", e.id());
        }
        return;
    }
    // A filter that matches nothing is refused before any adapter opens.
    check_filter(a.quick, a.filter.as_deref()).unwrap_or_else(|e| fail(e));
    let base = AdapterChoice { name: None, backend: a.backend.clone() }.or_env();
    let choices: Vec<AdapterChoice> = if a.all_adapters {
        let found = pollster::block_on(list_adapters(&base)).unwrap_or_else(|e| fail(e));
        if found.is_empty() {
            fail("no adapter found; on Debian/Ubuntu without a GPU: apt-get install mesa-vulkan-drivers");
        }
        found.iter().map(|s| AdapterChoice { name: Some(s.name.clone()), backend: Some(s.backend.to_lowercase()) }).collect()
    } else if !a.adapter.is_empty() {
        a.adapter.iter().map(|n| AdapterChoice { name: Some(n.clone()), backend: base.backend.clone() }).collect()
    } else {
        vec![base]
    };
    let runs = a.runs.unwrap_or(if a.quick { 3 } else { 10 });
    profile_kernels(a.profile);
    let several = choices.len() > 1;
    let mut failures = 0;
    for choice in &choices {
        let gpu = pollster::block_on(Gpu::new(choice)).unwrap_or_else(|e| fail(e));
        eprintln!("adapter: {}", gpu.adapter_label());
        let selection = select(a.quick, a.filter.as_deref(), &gpu.summary(), a.profile).unwrap_or_else(|e| fail(e));
        for note in &selection.notes {
            eprintln!("note: {note}");
        }
        // The roofline: each entry's speed against these, from its FLOPs and bytes.
        let peaks = pollster::block_on(measure_peaks(&gpu, a.quick, runs)).unwrap_or_else(|e| fail(e));
        println!("peak: {:.1} GFLOP/s (fma_peak), {:.1} GB/s (stream_copy), measured{}", peaks.gflops, peaks.gbps, if a.quick { " at --quick sizes" } else { "" });
        if let Some(f) = &peaks.formula {
            println!("peak by formula: {f}");
        }
        let mut results = pollster::block_on(run_suite(&gpu, a.quick, runs, a.filter.as_deref(), &mut |r| {
            let rate = [r.gflops.map(|g| format!("{g:.2} GFLOP/s")), r.gbytes_per_s.map(|g| format!("{g:.2} GB/s")), r.items_per_s.map(|x| format!("{x:.1} examples/s"))]
                .into_iter()
                .chain([fraction_of_peak(r, &peaks).map(|(f, bound)| format!("{:.1}% of {bound} peak", 100.0 * f))])
                .flatten()
                .collect::<Vec<_>>()
                .join("  ");
            if r.ok() {
                println!("{:<36} {:>10.3} ms (min {:.3}, max {:.3}, {} runs, {}) {rate}", r.id, r.median_ms, r.min_ms, r.max_ms, r.runs, r.timing);
            } else {
                println!("{:<36} FAILED: {}", r.id, r.status);
            }
            if let Some(v) = &r.versus {
                println!("    {:.2}x over {} ({:.3} ms), median of run-by-run ratios", v.speedup, v.reference, v.reference_median_ms);
            }
            if let Some(kernels) = &r.kernels {
                let total: f64 = kernels.iter().map(|k| k.total_ms).sum();
                println!("    {total:.3} ms in {} launches:", kernels.iter().map(|k| k.launches).sum::<usize>());
                for k in kernels {
                    println!("    {:>9.3} ms {:>5.1}% {:>5}x  {}", k.total_ms, 100.0 * k.total_ms / total.max(1e-12), k.launches, k.kernel);
                }
            }
        }))
        .unwrap_or_else(|e| fail(e));
        annotate(&mut results, &peaks);
        failures += results.iter().filter(|r| !r.ok()).count();
        let report = RunReport {
            schema_version: SCHEMA_VERSION,
            suite_version: SUITE_VERSION,
            adapter: gpu.summary(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            git_revision: git_revision(),
            quick: a.quick,
            created_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            peaks: Some(peaks),
            results,
        };
        if let Some(out) = &a.out {
            let path = if several || out.is_dir() {
                std::fs::create_dir_all(out).unwrap_or_else(|e| fail(format!("{}: {e}", out.display())));
                out.join(format!("{}-{}.json", slug(&report.adapter.name), slug(&report.adapter.backend)))
            } else {
                out.clone()
            };
            aer::files::write_json(&path, &report).unwrap_or_else(|e| fail(e));
            eprintln!("wrote {}", path.display());
        }
    }
    if failures > 0 {
        fail(format!("{failures} entries failed their correctness check"));
    }
}
