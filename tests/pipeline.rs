//! Pipelines through the `aer` binary: a run killed inside a stage resumes to the same
//! numbers as one never stopped; a changed configuration is refused; a corrupt or truncated
//! checkpoint is reported, never used; a sweep runs one run per value and its report has
//! every table and plot.

mod common;

use common::{aer, aer_command as command, summary_numbers as numbers, tmpdir};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

fn run_ok(file: &str, out: &Path) -> String {
    let (ok, text) = aer(&["run", file, "--out", out.to_str().unwrap()]);
    assert!(ok, "aer run {file} failed:\n{text}");
    text
}

/// A test directory holding the pipeline `text` as p.toml and its run never stopped in
/// `whole/`: the numbers a resumed or split run must end with. (dir, file, whole).
fn with_whole_run(name: &str, text: &str) -> (PathBuf, String, PathBuf) {
    let dir = tmpdir(name);
    let file = write(&dir, "p.toml", text);
    let whole = dir.join("whole");
    run_ok(&file, &whole);
    (dir, file, whole)
}

/// Run `aer args` and kill it (no chance to clean up) as soon as `file` exists.
fn kill_once_written(args: &[&str], file: &Path) {
    let mut child = command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let t = Instant::now();
    while !file.exists() {
        assert!(t.elapsed() < Duration::from_secs(120), "{} was never written", file.display());
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

const RESUMABLE: &str = r#"
name = "resume"
train_examples = 2000
seed = 3
[[stages]]
kind = "train"
[stages.train]
epochs = 2
[[stages]]
kind = "prune"
sparsity = 0.8
ramp_epochs = 3
[stages.train]
epochs = 6
[[stages]]
kind = "attack"
n = 60
[stages.attack]
eps = 0.1
steps = 3
attacks = ["fgsm", "pgd"]
curve = [0.0, 0.1, 1.0]
curve_n = 30
"#;

#[test]
fn killed_run_resumes_to_the_same_numbers() {
    let (dir, file, whole) = with_whole_run("resume", RESUMABLE);

    // Kill the second run (no chance to clean up) once the prune stage has finished an epoch.
    let killed = dir.join("killed");
    kill_once_written(&["run", &file, "--out", killed.to_str().unwrap()], &killed.join("run/02-prune/last.safetensors"));
    assert!(!killed.join("run/02-prune/stage.json").exists(), "the run was killed after its prune stage, not inside it");
    assert!(killed.join("run/01-train/stage.json").exists());

    let text = run_ok(&file, &killed);
    assert!(text.contains("stage 1/3 train: finished earlier"), "{text}");
    assert!(text.contains("resuming after epoch"), "{text}");
    assert_eq!(numbers(&killed.join("run/summary.json")), numbers(&whole.join("run/summary.json")));
}

const TINY: &str = r#"
name = "tiny"
train_examples = 600
[[stages]]
kind = "train"
[stages.train]
epochs = 1
"#;

/// TINY with an attack stage after it.
const TINY_ATTACKED: &str = r#"
name = "tiny"
train_examples = 600
[[stages]]
kind = "train"
[stages.train]
epochs = 1
[[stages]]
kind = "attack"
n = 20
[stages.attack]
eps = 0.1
steps = 2
attacks = ["pgd", "square"]
square_queries = 20
curve = [0.0, 0.1]
curve_n = 10
"#;

/// A setting outside the stages (seed, model, data) changes every stage: refused, naming it.
#[test]
fn changed_configuration_is_refused() {
    let dir = tmpdir("changed");
    let out = dir.join("out");
    let file = write(&dir, "p.toml", TINY);
    run_ok(&file, &out);
    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap(), "--set", "seed=1"]);
    assert!(!ok, "{text}");
    for needle in ["run.json", "another configuration", "pipeline.seed: 0 before, 1 now", "use another --out"] {
        assert!(text.contains(needle), "expected '{needle}' in:\n{text}");
    }
    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap(), "--set", "stages.0.train.epoks=2"]);
    assert!(!ok && text.contains("epoks") && text.contains("--set added stages.0.train.epoks"), "{text}");
}

/// `--set` on an attack stage reruns that stage only, on the finished training stage's
/// model; a changed training stage trains afresh (not resuming the old settings' epochs), and
/// the stages after it run again. The old results are moved to `replaced/`, never deleted.
#[test]
fn changed_stage_settings_rerun_from_the_first_changed_stage() {
    let dir = tmpdir("rerun");
    let out = dir.join("out");
    let file = write(&dir, "p.toml", TINY_ATTACKED);
    run_ok(&file, &out);
    let run = out.join("run");
    let best = std::fs::read(run.join("01-train/best.safetensors")).unwrap();
    let attack_eps = |run: &Path| {
        let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
        s["stages"][1]["result"]["attacks"][0]["config"]["eps"].as_f64().unwrap()
    };
    assert_eq!(attack_eps(&run), 0.1);
    // The score-based attack's queries are kept with its result.
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let square = &s["stages"][1]["result"]["attacks"][1];
    assert!(square["queries"]["mean"].as_f64().is_some_and(|q| q > 0.0 && q <= 20.0) && square["queries"]["median"].as_u64().is_some(), "{square}");

    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap(), "--set", "stages.1.attack.eps=0.05"]);
    assert!(ok, "{text}");
    assert!(text.contains("stage 1/2 train: finished earlier") && !text.contains("epoch   1/1"), "{text}");
    assert!(text.contains("stages.1.attack.eps: 0.1 before, 0.05 now"), "{text}");
    assert_eq!(attack_eps(&run), 0.05);
    assert!(run.join("replaced/02-attack.1/stage.json").exists());
    assert_eq!(std::fs::read(run.join("01-train/best.safetensors")).unwrap(), best, "the training stage was redone");

    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap(), "--set", "stages.1.attack.eps=0.05", "--set", "stages.0.train.epochs=2"]);
    assert!(ok, "{text}");
    assert!(text.contains("epoch   1/2") && !text.contains("resuming"), "{text}");
    assert!(run.join("replaced/01-train.1/best.safetensors").exists() && run.join("replaced/02-attack.2/stage.json").exists());
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("01-train/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["history"].as_array().unwrap().len(), 2);
}

/// A corrupt or truncated checkpoint is reported by name with advice that works: deleting
/// the stage's directory, or the checkpoint alone, makes the stage run again, to the numbers
/// of the run before.
#[test]
fn corrupt_or_truncated_checkpoints_are_reported() {
    let dir = tmpdir("corrupt");
    let file = write(&dir, "p.toml", TINY);
    let out = dir.join("out");
    run_ok(&file, &out);
    let before = numbers(&out.join("run/summary.json"));
    let ck = out.join("run/01-train/best.safetensors");
    let good = std::fs::read(&ck).unwrap();

    // One flipped bit in the weights.
    let mut bad = good.clone();
    let at = bad.len() - 1000;
    bad[at] ^= 0x10;
    std::fs::write(&ck, &bad).unwrap();
    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap()]);
    assert!(!ok && text.contains("best.safetensors") && text.contains("checksum mismatch"), "{text}");
    assert!(text.contains("to run this stage again") && text.contains("01-train"), "{text}");

    // The intact file is accepted again.
    std::fs::write(&ck, &good).unwrap();
    assert!(run_ok(&file, &out).contains("finished earlier"));

    std::fs::write(&ck, &good[..good.len() / 2]).unwrap();
    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap()]);
    assert!(!ok && text.contains("best.safetensors") && text.contains("truncated"), "{text}");

    // Following the advice: the stage runs again, to the same numbers.
    std::fs::remove_dir_all(out.join("run/01-train")).unwrap();
    let text = run_ok(&file, &out);
    assert!(!text.contains("finished earlier"), "{text}");
    assert_eq!(numbers(&out.join("run/summary.json")), before);

    // Deleting only the checkpoint does too; the stage's old directory is kept aside.
    std::fs::remove_file(&ck).unwrap();
    let text = run_ok(&file, &out);
    assert!(!text.contains("finished earlier") && text.contains("runs again"), "{text}");
    assert!(out.join("run/replaced/01-train.1/stage.json").exists());
    assert_eq!(numbers(&out.join("run/summary.json")), before);
}

#[test]
fn sweep_runs_each_value_and_reports_with_every_plot() {
    let dir = tmpdir("sweep");
    let file = write(
        &dir,
        "p.toml",
        r#"
name = "sweep"
train_examples = 1000
[[stages]]
kind = "train"
[stages.train]
epochs = 1
[[stages]]
kind = "prune"
sparsity = [0.5, 0.9]
[stages.train]
epochs = 1
[[stages]]
kind = "attack"
n = 40
[stages.attack]
eps = 0.1
steps = 2
attacks = ["fgsm", "pgd"]
curve = [0.0, 0.05, 0.1, 1.0]
curve_n = 20
[[stages]]
kind = "bench"
batch = 16
runs = 2
"#,
    );
    let out = dir.join("out");
    let text = run_ok(&file, &out);
    assert!(text.contains("2 runs") && text.contains("[sparsity=0.5]") && text.contains("[sparsity=0.9]"), "{text}");
    // The second run's train stage is the first run's: the sweep does not change it.
    assert!(text.contains("stage 1/4 train: finished earlier: ") && text.contains("(shared with sparsity=0.5)"), "{text}");
    let rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("sparsity=0.9/01-train/stage.json")).unwrap()).unwrap();
    assert_eq!(rec["checkpoint"], "../sparsity=0.5/01-train/best.safetensors");
    let (ok, text) = aer(&["report", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    let report = out.join("report");
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert_eq!(md.lines().filter(|l| l.starts_with("| sweep [")).count(), 2, "{md}");
    assert!(md.contains("FGSM eps 0.100") && md.contains("PGD-2 eps 0.100"), "{md}");
    let csv = std::fs::read_to_string(report.join("report.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let runs: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(report.join("report.json")).unwrap()).unwrap();
    let sparsities: Vec<f64> = runs.iter().map(|r| r["sparsity"].as_f64().unwrap()).collect();
    assert!((sparsities[0] - 0.5).abs() < 0.01 && (sparsities[1] - 0.9).abs() < 0.01, "{sparsities:?}");
    assert!(runs.iter().all(|r| r["inference_us_per_example"].as_f64().unwrap() > 0.0 && r["curve"].as_array().unwrap().len() == 4));
    for plot in ["robust_vs_clean.svg", "accuracy_vs_sparsity.svg", "robustness_curve.svg", "pareto.svg"] {
        let svg = std::fs::read_to_string(report.join(plot)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("<circle"), "{plot} has no points:\n{svg}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 4);
}

#[test]
fn presets_parse() {
    let dir = Path::new(ROOT).join("assets/pipelines");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let runs = aer::pipeline::parse(&std::fs::read_to_string(&p).unwrap(), &p.display().to_string(), aer::pipeline::MAX_RUNS).unwrap_or_else(|e| panic!("{e}"));
            assert!(!runs.is_empty());
            n += 1;
        }
    }
    assert!(n >= 8, "{n} presets");
}

#[test]
fn lottery_stage_prunes_and_rewinds_each_round() {
    let dir = tmpdir("lottery");
    let file = write(&dir, "p.toml", "name = \"lt\"\ntrain_examples = 600\n[[stages]]\nkind = \"lottery\"\nrounds = 2\nrate = 0.5\n[stages.train]\nepochs = 1\n");
    let out = dir.join("out");
    let text = run_ok(&file, &out);
    assert!(text.contains("lottery: weights kept"), "{text}");
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run/summary.json")).unwrap()).unwrap();
    assert!((s["sparsity"].as_f64().unwrap() - 0.75).abs() < 0.01, "{s}");
    let rounds = s["stages"][0]["result"]["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3);
    // Round 2 starts from the round-0 initialisation, masked: the seeded fresh weights.
    assert!(out.join("run/01-lottery/round-02/init.safetensors").exists());
}

/// Documented tolerances between adapters (docs/pipelines.md, "Determinism").
const ACCURACY_TOLERANCE: f64 = 0.01;
const LOSS_TOLERANCE: f64 = 1e-5;

#[test]
fn adapters_agree_within_the_documented_tolerances() {
    let swiftshader = "/usr/lib/chromium/vk_swiftshader_icd.json";
    assert!(Path::new(swiftshader).exists(), "this test compares llvmpipe with SwiftShader: apt-get install chromium (scripts/setup.sh --browser)");
    let dir = tmpdir("adapters");
    let file = write(&dir, "p.toml", "name = \"x\"\ntrain_examples = 500\nseed = 2\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = 1\n[[stages]]\nkind = \"prune\"\nsparsity = 0.5\n[stages.train]\nepochs = 1\n[[stages]]\nkind = \"attack\"\nn = 50\n[stages.attack]\neps = 0.1\nsteps = 3\nattacks = [\"fgsm\", \"pgd\"]\ncurve = [0.0, 0.1]\ncurve_n = 20\n");
    let mut results = Vec::new();
    for (name, icd) in [("llvmpipe", None), ("swiftshader", Some(swiftshader))] {
        let out = dir.join(name);
        let mut c = command(&["run", &file, "--out", out.to_str().unwrap()]);
        if let Some(icd) = icd {
            c.env("VK_ICD_FILENAMES", icd).env_remove("WGPU_ADAPTER_NAME");
        } else {
            c.env("WGPU_ADAPTER_NAME", "llvmpipe");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run/summary.json")).unwrap()).unwrap();
        let losses: Vec<f64> = ["01-train", "02-prune"]
            .iter()
            .flat_map(|s| {
                let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run").join(s).join("metrics.json")).unwrap()).unwrap();
                m["history"].as_array().unwrap().iter().map(|h| h["train_loss"].as_f64().unwrap()).collect::<Vec<_>>()
            })
            .collect();
        results.push((summary, losses));
    }
    let (a, b) = (&results[0], &results[1]);
    assert_ne!(a.0["adapter"], b.0["adapter"], "both runs used one adapter");
    for k in ["test_accuracy", "worst_robust_accuracy"] {
        let (x, y) = (a.0[k].as_f64().unwrap(), b.0[k].as_f64().unwrap());
        assert!((x - y).abs() <= ACCURACY_TOLERANCE, "{k}: {x} on {} vs {y} on {}", a.0["adapter"], b.0["adapter"]);
    }
    for (x, y) in a.1.iter().zip(&b.1) {
        assert!((x - y).abs() <= LOSS_TOLERANCE * x.abs(), "mean training loss {x} vs {y}");
    }
}

/// `aer train` killed during a pruning ramp resumes to the uninterrupted run's numbers: after
/// the resume, as before, the best epoch is chosen among the epochs at the final sparsity only
/// (the ramp's first epoch, at 69% sparsity, scores higher than any at 99%, and must not win).
#[test]
fn killed_pruning_ramp_resumes_to_the_same_numbers() {
    let dir = tmpdir("ramp-resume");
    let args = |out: &Path| -> Vec<String> {
        ["train", "--model", "mlp", "--epochs", "4", "--batch-size", "256", "--prune-sparsity", "0.99", "--prune-ramp-epochs", "3", "--seed", "5", "--out", out.to_str().unwrap()].map(String::from).to_vec()
    };
    let whole = dir.join("whole");
    let (ok, text) = aer(&args(&whole).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok, "{text}");

    let killed = dir.join("killed");
    kill_once_written(&args(&killed).iter().map(String::as_str).collect::<Vec<_>>(), &killed.join("last.safetensors"));
    let mut resume = args(&killed);
    resume.push("--resume".into());
    let (ok, text) = aer(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(ok && text.contains("resuming after epoch"), "{text}");
    let metrics = |d: &Path| {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("metrics.json")).unwrap()).unwrap();
        for r in v["history"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("seconds");
        }
        (v["best_epoch"].clone(), v["test_accuracy"].clone(), v["history"].clone())
    };
    let (best, test, history) = metrics(&whole);
    assert!(best.as_u64().unwrap() >= 3, "the uninterrupted run kept epoch {best}, inside the ramp");
    assert_eq!(metrics(&killed), (best, test, history));
}

const POINTS: &str = r#"
name = "points"
train_examples = 600
[[stages]]
kind = "train"
[stages.train]
epochs = 1
[[stages]]
kind = "prune"
sparsity = [0.5, 0.7, 0.9]
[stages.train]
epochs = 1
"#;

/// The points of a sweep run alone (`--point`) and through the local executor, into one
/// directory, end with the summaries of a sequential run; `aer status` shows each point's
/// state from the directory; bad executor input is refused with the fix.
#[test]
fn points_run_alone_and_through_the_local_executor_as_the_sequential_run() {
    let (dir, file, whole) = with_whole_run("points", POINTS);
    let out = dir.join("out");
    let o = out.to_str().unwrap();

    let (ok, text) = aer(&["run", &file, "--out", o, "--point", "3"]);
    assert!(!ok && text.contains("--point 3 is out of range") && text.contains("3 points (0 to 2)"), "{text}");
    // Point 2 alone: first the dense model it shares, at point 0 (its owner), then its own.
    let (ok, text) = aer(&["run", &file, "--out", o, "--point", "2"]);
    assert!(ok, "{text}");
    assert!(out.join("sparsity=0.5/01-train/stage.json").exists() && !out.join("sparsity=0.5/summary.json").exists());
    assert!(out.join("sparsity=0.9/summary.json").exists() && out.join("sweep.toml").exists());
    let (ok, status) = aer(&["status", o]);
    assert!(ok, "{status}");
    for line in ["0\tstopped\t1/2\t-\tsparsity=0.5", "1\tpending\t0/2\t-\tsparsity=0.7", "2\tfinished\t2/2\t-\tsparsity=0.9", "3 points: 1 finished, 1 pending, 1 stopped"] {
        assert!(status.contains(line), "expected {line:?} in:\n{status}");
    }

    // Executor options without their executor are refused, not ignored.
    let (ok, text) = aer(&["run", &file, "--out", o, "--jobs", "2"]);
    assert!(!ok && text.contains("--jobs is a setting of --executor local"), "{text}");
    let (ok, text) = aer(&["run", &file, "--out", o, "--partition", "gpu"]);
    assert!(!ok && text.contains("settings of --executor slurm"), "{text}");
    let o_slurm = command(&["run", &file, "--out", o, "--executor", "slurm"]).env("PATH", dir.join("no-bin")).output().unwrap();
    let text = String::from_utf8_lossy(&o_slurm.stderr);
    assert!(!o_slurm.status.success() && text.contains("sbatch is not on PATH") && text.contains("--executor local"), "{text}");
    assert!(!out.join("slurm/jobs.json").exists());

    // The rest, two at a time: only the two points not finished.
    let (ok, text) = aer(&["run", &file, "--out", o, "--executor", "local", "--jobs", "2"]);
    assert!(ok && text.contains("2 points to run (1 finished earlier), 0 shared jobs first"), "{text}");
    assert!(out.join("logs/point-0.log").exists() && out.join("logs/point-1.log").exists() && !out.join("logs/point-2.log").exists());
    let (_, status) = aer(&["status", o]);
    assert!(status.contains("3 points: 3 finished"), "{status}");
    for run in ["sparsity=0.5", "sparsity=0.7", "sparsity=0.9"] {
        assert_eq!(numbers(&out.join(run).join("summary.json")), numbers(&whole.join(run).join("summary.json")), "{run}");
    }
    // Another sweep into the same directory is refused, naming what differs.
    let other = write(&dir, "q.toml", &POINTS.replace("0.7", "0.8"));
    let (ok, text) = aer(&["run", &other, "--out", o, "--point", "0"]);
    assert!(!ok && text.contains("sweep.toml") && text.contains("holds another sweep") && text.contains("point 1"), "{text}");
}

/// `--set` with the executors: the run directory keeps the file with the settings in it
/// (`sweep.toml`), which the point processes read. A sweep whose stage settings changed
/// replaces the one kept, and every point keeps its stages before the first changed one
/// (the shared training stage is not redone) and runs the rest again; a changed seed is
/// still refused.
#[test]
fn set_with_the_executor_reruns_only_the_changed_stages_of_every_point() {
    let (_, file, out) = with_whole_run("points-set", POINTS);
    let o = out.to_str().unwrap();
    let dense = std::fs::read(out.join("sparsity=0.5/01-train/best.safetensors")).unwrap();

    let (ok, text) = aer(&["run", &file, "--out", o, "--set", "stages.1.train.epochs=2", "--executor", "local", "--jobs", "2"]);
    assert!(ok, "{text}");
    assert!(text.contains("3 points to run (0 finished earlier), 0 shared jobs first"), "{text}");
    let kept = std::fs::read_to_string(out.join("sweep.toml")).unwrap();
    assert!(kept.contains("--set stages.1.train.epochs=2") && kept.contains("epochs = 2"), "{kept}");
    assert_eq!(std::fs::read(out.join("sparsity=0.5/01-train/best.safetensors")).unwrap(), dense, "the shared training stage was redone");
    for run in ["sparsity=0.5", "sparsity=0.7", "sparsity=0.9"] {
        let run = out.join(run);
        assert!(run.join("replaced/02-prune.1/stage.json").exists(), "{}", run.display());
        let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("02-prune/metrics.json")).unwrap()).unwrap();
        assert_eq!(metrics["history"].as_array().unwrap().len(), 2, "{}", run.display());
    }
    let (_, status) = aer(&["status", o]);
    assert!(status.contains("3 points: 3 finished"), "{status}");

    // Nothing left to do with the same settings; a changed seed is refused.
    let (ok, text) = aer(&["run", &file, "--out", o, "--set", "stages.1.train.epochs=2", "--point", "1"]);
    assert!(ok && text.contains("finished earlier") && !text.contains("epoch   1/2"), "{text}");
    let (ok, text) = aer(&["run", &file, "--out", o, "--set", "stages.1.train.epochs=2", "--set", "seed=1", "--point", "0"]);
    assert!(!ok && text.contains("holds another sweep") && text.contains("seed"), "{text}");
}

/// SIGTERM (a scheduler stopping the job) ends a point between two file writes, with code
/// 143 and its locks released; run again, it resumes to the numbers of a run never stopped.
#[test]
fn sigterm_stops_a_point_between_writes_and_it_resumes() {
    let (dir, file, whole) = with_whole_run("sigterm", "name = \"term\"\ntrain_examples = 1000\nseed = 4\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = 1\n[[stages]]\nkind = \"prune\"\nsparsity = 0.8\nramp_epochs = 2\n[stages.train]\nepochs = 3\n");
    let out = dir.join("out");
    let mut child = command(&["run", &file, "--out", out.to_str().unwrap(), "--point", "0"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let t = Instant::now();
    while !out.join("run/02-prune/last.safetensors").exists() {
        assert!(t.elapsed() < Duration::from_secs(120) && child.try_wait().unwrap().is_none(), "the prune stage never wrote a checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(143), "{text}");
    assert!(text.contains("SIGTERM: stopping after the file being written"), "{text}");
    assert!(!out.join("run").join(aer::files::LOCK_FILE).exists(), "the run directory's lock was left behind");
    let (ok, text) = aer(&["run", &file, "--out", out.to_str().unwrap(), "--point", "0"]);
    assert!(ok && text.contains("resuming after epoch"), "{text}");
    assert_eq!(numbers(&out.join("run/summary.json")), numbers(&whole.join("run/summary.json")));
}

/// A training stage whose batch cannot fit the adapter's storage binding (a training step is
/// not split, as evaluations and attacks are) is refused before the first stage runs, naming
/// the stage and the largest batch that fits; one batch below it passes the check.
#[test]
fn a_training_batch_beyond_the_binding_limit_is_refused_up_front() {
    let dir = tmpdir("batch-limit");
    let spec = "name = \"wide\"\n[[layers]]\ntype = \"conv2d\"\nout = 64\nkernel = 3\npadding = 1\n[[layers]]\ntype = \"relu\"\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n";
    let model = write(&dir, "wide.toml", spec);
    let pipeline = |batch: usize| format!("name = \"wide\"\nmodel = \"{model}\"\ntrain_examples = 2000\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = 1\nbatch_size = 8\n[[stages]]\nkind = \"prune\"\nsparsity = 0.5\n[stages.train]\nepochs = 1\nbatch_size = {batch}\n");
    let out = dir.join("out");
    let (ok, text) = aer(&["run", &write(&dir, "p.toml", &pipeline(1500)), "--out", out.to_str().unwrap()]);
    assert!(!ok && text.contains("stage 2 (prune)") && text.contains("batch_size 1500") && text.contains("fix batch_size"), "{text}");
    assert!(!out.join("run/01-train").exists(), "a stage ran before the check");
    // The largest batch named is the one this adapter's limit (named too) allows the model.
    let limit: u64 = text.split("storage binding limit of ").nth(1).and_then(|t| t.split(' ').next()).and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("{text}"));
    let most = aer::nn::ModelSpec::from_toml(spec, "wide").unwrap().max_batch([1, 28, 28], 10, limit << 20).unwrap();
    assert!(most < 1500 && text.contains(&format!("at most {most} ")), "{text}");
    // The largest batch that fits passes the check, and trains.
    let fits = format!("name = \"wide\"\nmodel = \"{model}\"\ntrain_examples = {most}\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = 1\nbatch_size = {most}\n");
    run_ok(&write(&dir, "fits.toml", &fits), &dir.join("fits"));
}
