//! Which stages the points of a sweep share, and so what must run before what. A stage is
//! determined by the run's data and seed, its own settings and every stage before it; the
//! first point (in sweep order) with a given such prefix owns the stage, and every later
//! point with the same prefix reuses the owner's result. A sequential run computes each
//! stage at its owner; the executors (`aer run --executor local|slurm`) first run, as their
//! own jobs, each owner through the last stage that other points reuse, then every point.

use super::spec::{Pipeline, Run};
use serde_json::json;

/// What determines stage `i` of a pipeline: runs with equal keys share the stage.
pub(crate) fn prefix_key(p: &Pipeline, i: usize) -> String {
    json!([p.model, p.data, p.val_size, p.train_examples, p.seed, p.stages[..=i]]).to_string()
}

/// A job that computes stages other points reuse: point `point`'s first `stages` stages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedJob {
    pub point: usize,
    pub stages: usize,
    /// The points whose shared jobs must finish first (they own earlier stages this one
    /// builds on).
    pub after: Vec<usize>,
}

/// The dependency graph of a sweep's points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepGraph {
    /// `owner[r][i]`: the point that computes stage `i` of point `r` (`r` itself when no
    /// earlier point has the same stage).
    pub owner: Vec<Vec<usize>>,
}

impl SweepGraph {
    pub fn new(runs: &[Run]) -> SweepGraph {
        let mut first = std::collections::HashMap::new();
        let owner = runs
            .iter()
            .enumerate()
            .map(|(r, run)| (0..run.pipeline.stages.len()).map(|i| *first.entry(prefix_key(&run.pipeline, i)).or_insert(r)).collect())
            .collect();
        SweepGraph { owner }
    }

    pub fn points(&self) -> usize {
        self.owner.len()
    }

    /// The points (with how many of their stages) that must have run before point `r`'s
    /// first `stages` stages can: the owners of the stages it reuses, and theirs in turn,
    /// in the order to run them (owners come before the points that reuse their stages).
    pub fn prerequisites(&self, r: usize, stages: usize) -> Vec<(usize, usize)> {
        let mut need = std::collections::BTreeMap::<usize, usize>::new();
        let mut todo = vec![(r, stages)];
        while let Some((p, n)) = todo.pop() {
            for (i, &o) in self.owner[p].iter().take(n).enumerate() {
                if o != p && need.get(&o).is_none_or(|&have| have < i + 1) {
                    need.insert(o, i + 1);
                    todo.push((o, i + 1));
                }
            }
        }
        need.into_iter().collect()
    }

    /// The jobs that compute shared stages, one per owning point, through the last of its
    /// stages that another point reuses; in point order.
    pub fn shared_jobs(&self) -> Vec<SharedJob> {
        let mut through = std::collections::BTreeMap::<usize, usize>::new();
        for (r, owners) in self.owner.iter().enumerate() {
            for (i, &o) in owners.iter().enumerate() {
                if o != r {
                    let t = through.entry(o).or_insert(0);
                    *t = (*t).max(i + 1);
                }
            }
        }
        through
            .into_iter()
            .map(|(point, stages)| {
                let mut after: Vec<usize> = self.owner[point][..stages].iter().copied().filter(|&o| o != point).collect();
                after.sort_unstable();
                after.dedup();
                SharedJob { point, stages, after }
            })
            .collect()
    }

    /// The shared jobs in waves: every job of a wave needs only jobs of earlier waves, so a
    /// wave is one job array that depends on the wave before it.
    pub fn shared_waves(&self) -> Vec<Vec<SharedJob>> {
        let jobs = self.shared_jobs();
        let mut wave_of = std::collections::HashMap::<usize, usize>::new();
        let mut waves: Vec<Vec<SharedJob>> = Vec::new();
        // In point order a job's prerequisites (lower points) already have their wave.
        for job in jobs {
            let w = job.after.iter().map(|a| wave_of[a] + 1).max().unwrap_or(0);
            wave_of.insert(job.point, w);
            if waves.len() <= w {
                waves.resize(w + 1, Vec::new());
            }
            waves[w].push(job);
        }
        waves
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{parse, MAX_RUNS};

    fn graph(text: &str) -> SweepGraph {
        SweepGraph::new(&parse(text, "t.toml", MAX_RUNS).unwrap())
    }

    const TRAIN: &str = "[[stages]]\nkind = \"train\"\n";
    const PRUNE: &str = "[[stages]]\nkind = \"prune\"\n";

    /// seed x sparsity x eps = 2 x 3 x 2: the dense model depends on the seed only, so two
    /// points own it (one per seed) and every other point of that seed reuses it.
    #[test]
    fn a_sparsity_sweep_shares_its_dense_model_per_seed() {
        let g = graph(&format!("name = \"g\"\nseed = [0, 1]\n{TRAIN}{PRUNE}sparsity = [0.5, 0.8, 0.9]\n[[stages]]\nkind = \"attack\"\n[stages.attack]\neps = [0.1, 0.2]\n"));
        assert_eq!(g.points(), 12);
        // Points 0..6 have seed 0, 6..12 seed 1.
        assert!((0..6).all(|r| g.owner[r][0] == 0) && (6..12).all(|r| g.owner[r][0] == 6), "{:?}", g.owner);
        // The prune stage is shared by the two eps values of one sparsity.
        assert_eq!(g.owner[1], vec![0, 0, 1]);
        assert_eq!(g.owner[3], vec![0, 2, 3]);
        assert_eq!(g.owner[2], vec![0, 2, 2]);
        let jobs = g.shared_jobs();
        let owners: Vec<(usize, usize)> = jobs.iter().map(|j| (j.point, j.stages)).collect();
        assert_eq!(owners, vec![(0, 2), (2, 2), (4, 2), (6, 2), (8, 2), (10, 2)]);
        assert_eq!(jobs[1].after, vec![0]);
        assert_eq!(jobs[3].after, Vec::<usize>::new());
        let waves = g.shared_waves();
        assert_eq!(waves.iter().map(|w| w.iter().map(|j| j.point).collect::<Vec<_>>()).collect::<Vec<_>>(), vec![vec![0, 6], vec![2, 4, 8, 10]]);
        assert_eq!(g.prerequisites(5, 3), vec![(0, 1), (4, 2)]);
        assert_eq!(g.prerequisites(0, 3), vec![]);
    }

    /// A sweep of the first stage shares nothing: no shared jobs, no prerequisites.
    #[test]
    fn a_sweep_of_the_first_stage_shares_nothing() {
        let g = graph(&format!("name = \"g\"\n{TRAIN}[stages.train.optimizer]\nlr = [0.1, 0.01]\n{PRUNE}sparsity = 0.5\n"));
        assert_eq!(g.owner, vec![vec![0, 0], vec![1, 1]]);
        assert!(g.shared_jobs().is_empty() && g.shared_waves().is_empty());
        assert!(g.prerequisites(1, 2).is_empty());
    }

    /// One shared stage for four points: one shared job, through stage 1.
    #[test]
    fn one_shared_first_stage() {
        let g = graph(&format!("name = \"g\"\n{TRAIN}{PRUNE}sparsity = [0.5, 0.6, 0.7, 0.8]\n"));
        assert_eq!(g.shared_jobs(), vec![SharedJob { point: 0, stages: 1, after: vec![] }]);
        assert_eq!(g.prerequisites(3, 2), vec![(0, 1)]);
        assert_eq!(g.prerequisites(3, 1), vec![(0, 1)]);
        assert_eq!(g.prerequisites(0, 2), vec![]);
    }
}
