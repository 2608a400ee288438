//! `aer run FILE --executor slurm`: the plan as Slurm job arrays, through Slurm's command
//! lines only (`sbatch`, `squeue`, `sacct`), so any Slurm since 20.x serves. Each wave of
//! shared jobs is one array (task index = the point that owns the stages), the points one
//! more (task index = the point), each array after the ones before it (`afterok`). The batch
//! scripts are written into `OUT/slurm/` and kept, and every submission's job id is recorded
//! in `OUT/slurm/jobs.json`, so that `aer status` can ask Slurm about them and a second
//! submission leaves out what is finished, queued or running.

use super::{Plan, PointCommand};
use crate::error::{AerError, Result};
use crate::files::{write_atomic, write_json};
use crate::pipeline::graph::SweepGraph;
use crate::pipeline::spec::Run;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

/// Where the scripts, logs and job ids of the Slurm submissions go, under the run directory.
pub const SLURM_DIR: &str = "slurm";
pub const JOBS_FILE: &str = "jobs.json";

/// The `sbatch` settings of every submitted array.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub gpus_per_task: Option<u32>,
    /// Time limit per task, in any format sbatch takes (`30`, `2:00:00`, `1-00:00:00`).
    pub time: Option<String>,
    /// Most tasks of one array running at once (`--array=...%K`).
    pub max_parallel: Option<usize>,
    /// Further sbatch options, each one word as sbatch takes it (`--account=x`, `--qos=y`).
    pub sbatch_args: Vec<String>,
}

/// The tasks of one array: each point, with how many of its stages to run (None: all).
pub type ArrayTasks = Vec<(usize, Option<usize>)>;

/// One sbatch call: an array of shared jobs or of points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Slurm's job id of the array (`DRY-RUN-N` for a dry run).
    pub job: String,
    /// `shared` or `points`.
    pub role: String,
    /// The array's task indices: the points it runs.
    pub points: Vec<usize>,
    /// The batch script, relative to the run directory.
    pub script: String,
    /// The jobs it waits for (`afterok`).
    pub after: Vec<String>,
}

impl Submission {
    /// The Slurm id of the task that runs `point`.
    pub fn task(&self, point: usize) -> String {
        format!("{}_{point}", self.job)
    }
}

/// The batch script of one array: `entries` are its points, each with how many of its
/// stages to run (None: all).
pub fn batch_script(name: &str, role: &str, entries: &[(usize, Option<usize>)], after: &[String], cmd: &PointCommand, out: &Path, opts: &SlurmOptions) -> String {
    let points: Vec<usize> = entries.iter().map(|e| e.0).collect();
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("# aer run --executor slurm: {} of the sweep '{name}' in {}, one array task per point\n", if role == "shared" { "the shared stages" } else { "the points" }, out.display());
    s += "# (the task index is the point). Resubmitting is safe: every point resumes where it stopped.\n";
    let job_name: String = format!("aer-{name}-{role}").chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    s += &format!("#SBATCH --job-name={job_name}\n");
    s += &format!("#SBATCH --array={}{}\n", array_spec(&points), opts.max_parallel.map(|k| format!("%{k}")).unwrap_or_default());
    s += "#SBATCH --ntasks=1\n";
    // A preempted or requeued task runs again and resumes; its log continues.
    s += "#SBATCH --requeue\n#SBATCH --open-mode=append\n";
    s += &format!("#SBATCH --output={}\n", out.join(SLURM_DIR).join("logs").join("%x-%A_%a.log").display());
    if let Some(p) = &opts.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(g) = opts.gpus_per_task {
        s += &format!("#SBATCH --gpus-per-task={g}\n");
    }
    if let Some(t) = &opts.time {
        s += &format!("#SBATCH --time={t}\n");
    }
    if !after.is_empty() {
        // A failed prerequisite cancels this array instead of leaving it queued for ever.
        s += &format!("#SBATCH --dependency=afterok:{}\n#SBATCH --kill-on-invalid-dep=yes\n", after.join(":"));
    }
    for a in &opts.sbatch_args {
        s += &format!("#SBATCH {a}\n");
    }
    s += "set -euo pipefail\n";
    let stages: BTreeMap<usize, usize> = entries.iter().filter_map(|&(p, n)| n.map(|n| (p, n))).collect();
    let stages_arg = if stages.is_empty() {
        None
    } else {
        // Each shared job runs its point through the last stage other points reuse.
        s += "case \"$SLURM_ARRAY_TASK_ID\" in\n";
        for (p, n) in &stages {
            s += &format!("  {p}) STAGES={n} ;;\n");
        }
        s += "  *) echo \"no shared job for task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n";
        Some("\"$STAGES\"")
    };
    // exec: aer itself receives Slurm's SIGTERM and stops between two file writes.
    let words: Vec<String> = std::iter::once(cmd.program.display().to_string()).chain(cmd.args(out, "\"$SLURM_ARRAY_TASK_ID\"", stages_arg)).map(|w| if w.starts_with('"') { w } else { shell_word(&w) }).collect();
    s += &format!("exec {}\n", words.join(" "));
    s
}

/// `0-3,7,9-10`.
pub fn array_spec(points: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let mut j = i;
        while j + 1 < points.len() && points[j + 1] == points[j] + 1 {
            j += 1;
        }
        parts.push(if j == i { points[i].to_string() } else { format!("{}-{}", points[i], points[j]) });
        i = j + 1;
    }
    parts.join(",")
}

/// A word quoted for bash where it needs it.
fn shell_word(w: &str) -> String {
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// The submissions recorded in `out` so far.
pub fn submissions(out: &Path) -> Result<Vec<Submission>> {
    let path = out.join(SLURM_DIR).join(JOBS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| AerError::file(&path, format!("corrupt ({e}); it records the Slurm job ids of this sweep: fix or delete it"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(AerError::file(&path, format!("cannot read: {e}"))),
    }
}

/// What Slurm says of one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskState {
    /// `1234_5`.
    pub task: String,
    /// Slurm's state: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT...
    pub state: String,
}

impl TaskState {
    /// Queued or running: resubmitting it would run it twice.
    pub fn active(&self) -> bool {
        ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING"].contains(&self.state.as_str())
    }
}

/// The latest Slurm state of every recorded task, by (role, point): from `squeue` while the
/// job is known to the controller, else from `sacct` where accounting is on; tasks neither
/// knows are left out. The later submission of a point wins.
pub fn task_states(subs: &[Submission]) -> Result<BTreeMap<(String, usize), TaskState>> {
    let jobs: Vec<&str> = subs.iter().map(|s| s.job.as_str()).filter(|j| !j.is_empty()).collect();
    let mut by_task = BTreeMap::new();
    if jobs.is_empty() {
        return Ok(BTreeMap::new());
    }
    for job in &jobs {
        // One job at a time: squeue refuses a whole list when one id has been purged.
        let Ok(text) = slurm_output("squeue", &["--noheader", "--array", "--format=%F|%K|%T", &format!("--jobs={job}")]) else { continue };
        for line in text.lines() {
            let f: Vec<&str> = line.trim().split('|').collect();
            if let [array, index, state] = f[..] {
                by_task.insert(format!("{array}_{index}"), state.to_string());
            }
        }
    }
    // Accounting, where it is enabled, knows the tasks that have left the queue.
    if let Ok(text) = slurm_output("sacct", &["--noheader", "--parsable2", "--allocations", "--format=JobID,State", &format!("--jobs={}", jobs.join(","))]) {
        for line in text.lines() {
            if let Some((id, state)) = line.trim().split_once('|') {
                let state = state.split_whitespace().next().unwrap_or("").to_string();
                by_task.entry(id.to_string()).or_insert(state);
            }
        }
    }
    let mut out = BTreeMap::new();
    for s in subs {
        for &p in &s.points {
            if let Some(state) = by_task.get(&s.task(p)) {
                out.insert((s.role.clone(), p), TaskState { task: s.task(p), state: state.clone() });
            }
        }
    }
    Ok(out)
}

/// Run a Slurm command line; its standard output, or an error with its message.
fn slurm_output(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program).args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AerError::Invalid(format!("{program} is not on PATH: --executor slurm needs a machine where Slurm's commands run (a cluster's login node); without Slurm, use --executor local --jobs N"))
        } else {
            AerError::Invalid(format!("cannot run {program}: {e}"))
        }
    })?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(AerError::Invalid(format!("{program} {} failed ({}): {msg}", args.join(" "), out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What a submission did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Submitted {
    /// This time's sbatch calls (arrays), in order.
    pub arrays: Vec<Submission>,
    /// Points left out because Slurm already has them queued or running.
    pub active: Vec<usize>,
    /// Points finished earlier.
    pub finished: usize,
}

impl Submitted {
    /// Array tasks submitted in all (one job each, to Slurm).
    pub fn tasks(&self) -> usize {
        self.arrays.iter().map(|a| a.points.len()).sum()
    }
}

/// Submit what is missing of the sweep in `out` (its `sweep.toml` written): the shared
/// stages not finished, then the points without a summary, leaving out what Slurm already
/// has queued or running. `dry_run`: write the scripts, submit nothing.
pub fn submit(out: &Path, runs: &[Run], cmd: &PointCommand, opts: &SlurmOptions, dry_run: bool) -> Result<Submitted> {
    if !dry_run {
        // Before writing anything: without sbatch nothing can be submitted.
        slurm_output("sbatch", &["--version"])?;
    }
    let out = &out.canonicalize().map_err(|e| AerError::file(out, format!("cannot resolve the path: {e}")))?;
    let dir = out.join(SLURM_DIR);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| AerError::file(&logs, format!("cannot create directory: {e}")))?;
    let mut subs = submissions(out)?;
    let states = if dry_run { BTreeMap::new() } else { task_states(&subs)? };
    let active = |role: &str| -> HashSet<usize> { states.iter().filter(|((r, _), s)| r == role && s.active()).map(|((_, p), _)| *p).collect() };
    let (active_points, active_shared) = (active("points"), active("shared"));
    let plan = Plan::from_dir(out, runs, &active_points, &active_shared);
    let progress = crate::pipeline::sweep::progress(out, runs);
    let graph = SweepGraph::new(runs);
    let mut done = Submitted { active: active_points.iter().copied().collect(), finished: progress.iter().filter(|p| p.finished).count(), ..Default::default() };
    done.active.sort_unstable();
    if plan.is_empty() {
        return Ok(done);
    }
    // Shared stages that a queued or running task computes: wait for that task.
    let planned: HashSet<usize> = plan.waves.iter().flatten().map(|j| j.point).collect();
    let mut waiting: Vec<String> = Vec::new();
    for &p in &plan.points {
        for (o, k) in graph.prerequisites(p, runs[p].pipeline.stages.len()) {
            if planned.contains(&o) || progress[o].done >= k {
                continue;
            }
            let task = states.get(&("shared".to_string(), o)).filter(|s| s.active()).or_else(|| states.get(&("points".to_string(), o)).filter(|s| s.active()));
            if let Some(t) = task {
                waiting.push(t.task.clone());
            }
        }
    }
    waiting.sort();
    waiting.dedup();
    let name = &runs[0].pipeline.name;
    let mut after = waiting.clone();
    let mut arrays: Vec<(String, ArrayTasks)> = plan.waves.iter().map(|w| ("shared".to_string(), w.iter().map(|j| (j.point, Some(j.stages))).collect())).collect();
    arrays.push(("points".into(), plan.points.iter().map(|&p| (p, None)).collect()));
    let mut shared_ids = Vec::new();
    for (role, entries) in arrays {
        if entries.is_empty() {
            continue;
        }
        // The points wait for every shared array (and a wave for the one before it).
        let deps: Vec<String> = if role == "points" { shared_ids.iter().chain(&waiting).cloned().collect() } else { after.clone() };
        let script_name = format!("{role}-{}.sbatch", subs.len() + 1);
        let script_path = dir.join(&script_name);
        write_atomic(&script_path, batch_script(name, &role, &entries, &deps, cmd, out, opts).as_bytes())?;
        let job = if dry_run {
            format!("DRY-RUN-{}", subs.len() + 1)
        } else {
            let stdout = slurm_output("sbatch", &["--parsable", &script_path.display().to_string()]).map_err(|e| {
                let earlier = if done.arrays.is_empty() { String::new() } else { format!("; the {} array(s) submitted before it stay queued and are recorded in {}", done.arrays.len(), dir.join(JOBS_FILE).display()) };
                AerError::Invalid(format!("Slurm refused {} ({e}){earlier}", script_path.display()))
            })?;
            stdout.trim().split(';').next().unwrap_or("").to_string()
        };
        let sub = Submission { job: job.clone(), role: role.clone(), points: entries.iter().map(|e| e.0).collect(), script: format!("{SLURM_DIR}/{script_name}"), after: deps };
        subs.push(sub.clone());
        if !dry_run {
            write_json(&dir.join(JOBS_FILE), &subs)?;
        }
        if role == "shared" {
            shared_ids.push(job.clone());
            after = vec![job];
        }
        done.arrays.push(sub);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{parse, MAX_RUNS};
    use std::path::PathBuf;

    fn cmd() -> PointCommand {
        PointCommand { program: PathBuf::from("/opt/aer/bin/aer"), gpu_args: vec!["--adapter".into(), "llvm pipe".into()] }
    }

    #[test]
    fn array_specs_are_ranges() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 7, 9, 10]), "0-3,7,9-10");
        assert_eq!(array_spec(&[5]), "5");
        assert_eq!(array_spec(&[]), "");
    }

    /// The points' script: one task per point, requeueable, after the shared array, with the
    /// options given, and a command line that runs the task's point of the kept sweep file.
    #[test]
    fn the_points_script_runs_one_point_per_task() {
        let opts = SlurmOptions { partition: Some("gpu".into()), gpus_per_task: Some(1), time: Some("2:00:00".into()), max_parallel: Some(4), sbatch_args: vec!["--account=robust".into()] };
        let s = batch_script("sweep 1", "points", &[(0, None), (1, None), (2, None), (5, None)], &["101".into()], &cmd(), Path::new("/shared/runs/s"), &opts);
        for line in [
            "#!/bin/bash\n",
            "#SBATCH --job-name=aer-sweep_1-points\n",
            "#SBATCH --array=0-2,5%4\n",
            "#SBATCH --requeue\n",
            "#SBATCH --output=/shared/runs/s/slurm/logs/%x-%A_%a.log\n",
            "#SBATCH --partition=gpu\n",
            "#SBATCH --gpus-per-task=1\n",
            "#SBATCH --time=2:00:00\n",
            "#SBATCH --dependency=afterok:101\n",
            "#SBATCH --account=robust\n",
            "exec /opt/aer/bin/aer run /shared/runs/s/sweep.toml --out /shared/runs/s --point \"$SLURM_ARRAY_TASK_ID\" --adapter 'llvm pipe'\n",
        ] {
            assert!(s.contains(line), "expected {line:?} in\n{s}");
        }
        assert!(!s.contains("STAGES"), "{s}");
        // Every #SBATCH line comes before the first command, or sbatch ignores it.
        let first_command = s.find("set -euo").unwrap();
        assert!(s.rfind("#SBATCH").unwrap() < first_command, "{s}");
    }

    /// A shared array runs each owner through its last shared stage, and has no dependency
    /// in the first wave.
    #[test]
    fn the_shared_script_runs_each_owner_through_its_shared_stages() {
        let s = batch_script("s", "shared", &[(0, Some(1)), (6, Some(2))], &[], &cmd(), Path::new("/r"), &SlurmOptions::default());
        assert!(s.contains("#SBATCH --array=0,6\n") && !s.contains("--dependency") && !s.contains("--partition"), "{s}");
        assert!(s.contains("  0) STAGES=1 ;;\n  6) STAGES=2 ;;\n"), "{s}");
        assert!(s.contains("--point \"$SLURM_ARRAY_TASK_ID\" --stages \"$STAGES\" --adapter 'llvm pipe'\n"), "{s}");
    }

    /// A dry run of a 2 x 3 x 2 sweep whose first stage depends on the seed only: one shared
    /// array of two tasks, then one array of twelve points after it; two sbatch calls.
    #[test]
    fn a_dry_run_plans_one_shared_array_and_one_point_array() {
        let text = "name = \"s\"\nseed = [0, 1]\n[[stages]]\nkind = \"train\"\n[[stages]]\nkind = \"prune\"\nsparsity = [0.5, 0.8, 0.9]\n[stages.train.optimizer]\nlr = [0.1, 0.01]\n";
        let runs = parse(text, "s.toml", MAX_RUNS).unwrap();
        let out = std::env::temp_dir().join(format!("aer-slurm-dry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let done = submit(&out, &runs, &cmd(), &SlurmOptions::default(), true).unwrap();
        assert_eq!(done.arrays.len(), 2, "{:?}", done.arrays);
        assert_eq!((done.arrays[0].role.as_str(), done.arrays[0].points.clone()), ("shared", vec![0, 6]));
        assert_eq!(done.arrays[1].points, (0..12).collect::<Vec<_>>());
        assert_eq!(done.tasks(), 14);
        let script = std::fs::read_to_string(out.canonicalize().unwrap().join(&done.arrays[1].script)).unwrap();
        assert!(script.contains("#SBATCH --array=0-11\n") && script.contains("#SBATCH --dependency=afterok:DRY-RUN-1\n"), "{script}");
        // A dry run records no job ids.
        assert!(submissions(&out).unwrap().is_empty());
        std::fs::remove_dir_all(&out).unwrap();
    }
}
