//! Executors: a sweep run as separate processes, one per point (`aer run FILE --point I`),
//! locally (`local`: N at a time on this machine) or on a cluster (`slurm`: one job array
//! task per point). Both run the same plan — first the jobs that compute the stages several
//! points share (`SweepGraph::shared_waves`), then the points — and differ only in how a
//! process is started. Resume, atomic results and locking are the point runner's own
//! (`run_point`), so a point that is stopped and started again continues where it stopped.
//! Native only: the browser starts no processes.

pub mod local;
pub mod slurm;

use super::graph::{SharedJob, SweepGraph};
use super::spec::Run;
use super::sweep::SWEEP_FILE;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// How to start `aer` for one point: the program and the GPU options of `run` (the
/// adapter, `--dense-kernels`).
#[derive(Clone, Debug, PartialEq)]
pub struct PointCommand {
    pub program: PathBuf,
    pub gpu_args: Vec<String>,
}

impl PointCommand {
    /// `aer run OUT/sweep.toml --out OUT --point POINT [--stages N] [GPU options]`; `point`
    /// is a number or a shell word (`$SLURM_ARRAY_TASK_ID`) that a batch script expands.
    pub fn args(&self, out: &Path, point: &str, stages: Option<&str>) -> Vec<String> {
        let mut a: Vec<String> = vec!["run".into(), out.join(SWEEP_FILE).display().to_string(), "--out".into(), out.display().to_string(), "--point".into(), point.into()];
        if let Some(n) = stages {
            a.extend(["--stages".into(), n.into()]);
        }
        a.extend(self.gpu_args.iter().cloned());
        a
    }
}

/// What is left to run of a sweep: the waves of shared jobs whose stages have not all
/// finished, then the points without a summary. Points and shared jobs that `active` names
/// (queued or running already) are left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub waves: Vec<Vec<SharedJob>>,
    pub points: Vec<usize>,
}

impl Plan {
    /// `finished(r, n)`: whether point r's first n stages have finished.
    pub fn new(graph: &SweepGraph, stages: &[usize], finished: &dyn Fn(usize, usize) -> bool, active_points: &HashSet<usize>, active_shared: &HashSet<usize>) -> Plan {
        let points: Vec<usize> = (0..graph.points()).filter(|&p| !active_points.contains(&p) && !finished(p, stages[p])).collect();
        // Only the shared stages some point still to run needs, and not computed yet.
        let needed: HashSet<usize> = points.iter().flat_map(|&p| graph.prerequisites(p, stages[p])).map(|(o, _)| o).collect();
        let waves = graph
            .shared_waves()
            .into_iter()
            .map(|w| w.into_iter().filter(|j| needed.contains(&j.point) && !active_shared.contains(&j.point) && !finished(j.point, j.stages)).collect::<Vec<_>>())
            .filter(|w| !w.is_empty())
            .collect();
        Plan { waves, points }
    }

    /// The plan for the sweep in `out`, from its directory.
    pub fn from_dir(out: &Path, runs: &[Run], active_points: &HashSet<usize>, active_shared: &HashSet<usize>) -> Plan {
        let graph = SweepGraph::new(runs);
        let stages: Vec<usize> = runs.iter().map(|r| r.pipeline.stages.len()).collect();
        let progress = super::sweep::progress(out, runs);
        let finished = |r: usize, n: usize| if n == stages[r] { progress[r].finished } else { progress[r].done >= n };
        Plan::new(&graph, &stages, &finished, active_points, active_shared)
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.waves.is_empty()
    }
}

/// The log file of a point's process.
pub fn log_name(role: &str, point: usize) -> String {
    format!("{role}-{point}.log")
}

/// Whether `path` lies on a network file system that other machines can mount, as far as
/// /proc/mounts tells: Some(false, what) when it does not, None when it cannot be told.
pub fn on_shared_file_system(path: &Path) -> Option<(bool, String)> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    // The longest mount point that holds the path.
    let (point, fs) = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, point, fs) = (f.next()?, f.next()?, f.next()?);
            Some((point.replace("\\040", " "), fs.to_string()))
        })
        .filter(|(point, _)| path.starts_with(point))
        .max_by_key(|(point, _)| point.len())?;
    const NETWORK: &[&str] = &["nfs", "nfs4", "lustre", "gpfs", "beegfs", "cephfs", "ceph", "cifs", "smb3", "smbfs", "panfs", "wekafs", "glusterfs", "fuse.glusterfs", "fuse.sshfs", "fuse.ceph", "9p", "virtiofs", "orangefs", "pvfs2", "afs", "ocfs2", "gfs2"];
    Some((NETWORK.contains(&fs.as_str()), format!("{fs}, mounted at {point}")))
}
