//! The pipeline file: a model, a data set and an ordered list of stages, each reading the
//! previous stage's checkpoint. A stage parameter given as a list (sparsity, eps, seed,
//! method...) is a sweep: the file expands into one run per combination of values.

use crate::attack::AttackSettings;
use crate::error::{AerError, Result};
use crate::nn::quant::{QuantLayers, ScaleGranularity, TernaryMethod};
use crate::sparse::Scope;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Keys whose value may be a list of values to sweep over. Others that are lists
/// (`attacks`, `curve`) are lists in their own right.
pub const SWEEPABLE: &[&str] = &["seed", "sparsity", "eps", "method", "lr", "epochs", "beta", "rho", "ramp_epochs", "steps", "batch_size"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub name: String,
    /// A preset (mlp, cnn, smallcnn, madry, resnet20, preact-resnet18, wrn-28-10) or a TOML model file.
    #[serde(default = "default_model")]
    pub model: String,
    /// A data directory (MNIST IDX files or CIFAR batches) or a data set's name (see `aer data
    /// list`); the bundled MNIST subset when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Training images held out for validation; by default 10% of them, at most 5,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_size: Option<usize>,
    /// Use only the first this many training images (0: all), for quick runs.
    #[serde(default)]
    pub train_examples: usize,
    /// Every stage trains with this seed (plus its stage index, so that the stages of a run
    /// see different data orders).
    #[serde(default)]
    pub seed: u64,
    pub stages: Vec<Stage>,
}

fn default_model() -> String {
    "mlp".into()
}

fn global() -> Scope {
    Scope::Global
}

fn twn() -> TernaryMethod {
    TernaryMethod::Twn
}

fn default_rate() -> f64 {
    0.2
}

fn default_attack_n() -> usize {
    1000
}

fn default_watermark_triggers() -> usize {
    crate::watermark::embed::DEFAULT_TRIGGERS
}

fn default_watermark_alpha() -> f64 {
    crate::watermark::DEFAULT_ALPHA
}

fn default_bench_batch() -> usize {
    128
}

fn default_bench_runs() -> usize {
    10
}

/// One step of a pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Stage {
    /// Train (from scratch as the first stage, else fine-tune the previous stage's model).
    /// Adversarial training, certified training, dynamic sparse training (RigL) and the other
    /// settings of `[train]` all apply.
    Train {
        #[serde(default)]
        train: TrainConfig,
    },
    /// Magnitude pruning of the previous model to `sparsity` while training it for
    /// `train.epochs` epochs, along the cubic schedule over `ramp_epochs` (0: one-shot).
    Prune {
        sparsity: f64,
        #[serde(default)]
        ramp_epochs: usize,
        #[serde(default = "global")]
        scope: Scope,
        #[serde(default)]
        train: TrainConfig,
    },
    /// Lottery tickets (Frankle & Carbin): train, prune `rate` of the remaining weights by
    /// magnitude, rewind the survivors, retrain; `rounds` times. The rewind point is the
    /// stage's seeded initialisation as a first stage, else the previous stage's weights
    /// (late rewinding). Each round trains `train.epochs` epochs.
    Lottery {
        rounds: usize,
        #[serde(default = "default_rate")]
        rate: f64,
        #[serde(default = "global")]
        scope: Scope,
        #[serde(default)]
        train: TrainConfig,
    },
    /// Ternary quantization-aware fine-tuning of the previous model for `train.epochs`
    /// epochs, then packing into 2-bit codes; later stages run on the packed kernels.
    Quantize {
        #[serde(default = "twn")]
        method: TernaryMethod,
        #[serde(default)]
        layers: QuantLayers,
        #[serde(default)]
        scales: ScaleGranularity,
        #[serde(default)]
        train: TrainConfig,
    },
    /// Attack the previous model on `n` test images spread over the test set: clean and
    /// robust accuracy per attack, the worst case, the robustness curve and sanity checks.
    Attack {
        #[serde(default)]
        attack: AttackSettings,
        #[serde(default = "default_attack_n")]
        n: usize,
    },
    /// Check the previous model for an ownership watermark (docs/watermark.md): its
    /// predictions on the key's first `triggers` triggers against the key's labels, with the
    /// binomial p-value and the decision at `alpha`.
    Watermark {
        key: PathBuf,
        #[serde(default = "default_watermark_triggers")]
        triggers: usize,
        #[serde(default = "default_watermark_alpha")]
        alpha: f64,
    },
    /// Measure the previous model's inference time on batches of `batch` test images.
    Bench {
        #[serde(default = "default_bench_batch")]
        batch: usize,
        #[serde(default = "default_bench_runs")]
        runs: usize,
    },
}

impl Stage {
    /// The stage's training settings, when it trains.
    pub fn train(&self) -> Option<&TrainConfig> {
        match self {
            Stage::Train { train } | Stage::Prune { train, .. } | Stage::Lottery { train, .. } | Stage::Quantize { train, .. } => Some(train),
            Stage::Attack { .. } | Stage::Watermark { .. } | Stage::Bench { .. } => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Stage::Train { .. } => "train",
            Stage::Prune { .. } => "prune",
            Stage::Lottery { .. } => "lottery",
            Stage::Quantize { .. } => "quantize",
            Stage::Attack { .. } => "attack",
            Stage::Watermark { .. } => "watermark",
            Stage::Bench { .. } => "bench",
        }
    }
}

/// One run of a pipeline file: its settings with every sweep resolved to one value.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// e.g. `sparsity=0.8,seed=1`; empty without sweeps.
    pub label: String,
    /// A directory name for the run.
    pub dir: String,
    pub pipeline: Pipeline,
}

/// How many runs a pipeline file may expand into unless asked for more (`aer run --max-runs`).
pub const MAX_RUNS: usize = 1000;

/// Parse a pipeline file and expand its sweeps into runs, in the order the lists appear;
/// refused before expanding when they would make more than `max_runs` runs.
pub fn parse(text: &str, origin: &str, max_runs: usize) -> Result<Vec<Run>> {
    parse_with(text, origin, max_runs, &[])
}

/// `parse` with settings replaced or added first (`aer run --set KEY=VALUE`, see
/// `overrides`); a setting the file format does not know is refused naming its key.
pub fn parse_with(text: &str, origin: &str, max_runs: usize, sets: &[String]) -> Result<Vec<Run>> {
    let mut value: toml::Value = toml::from_str(text).map_err(|e| AerError::Invalid(format!("{origin}: {e}")))?;
    let added: Vec<String> = super::overrides::apply(&mut value, sets)?.into_iter().filter(|o| !o.existed).map(|o| o.key).collect();
    expand(value, origin, max_runs).map_err(|e| match added.is_empty() {
        true => e,
        false => AerError::Invalid(format!("{e}\n  (--set added {}, which the file did not have: check the name{})", added.join(", "), if added.len() == 1 { "" } else { "s" })),
    })
}

/// The pipeline file's text with `sets` (`aer run --set`) applied: `text` itself when there
/// are none, else the file as TOML prints it (without its comments), with a first line that
/// names the settings. It is what a sweep's run directory keeps (`sweep::record_sweep`), so
/// that the processes of its points, which read that copy, run with the same settings.
pub fn effective_text(text: &str, origin: &str, sets: &[String]) -> Result<String> {
    if sets.is_empty() {
        return Ok(text.to_string());
    }
    let mut value: toml::Value = toml::from_str(text).map_err(|e| AerError::Invalid(format!("{origin}: {e}")))?;
    super::overrides::apply(&mut value, sets)?;
    let body = toml::to_string(&value).map_err(|e| AerError::Invalid(format!("{origin} with --set {}: {e}", sets.join(" --set "))))?;
    let named: String = sets.iter().map(|s| format!(" --set {}", s.replace('\n', " "))).collect();
    Ok(format!("# {origin}, with{named}\n{body}"))
}

fn expand(value: toml::Value, origin: &str, max_runs: usize) -> Result<Vec<Run>> {
    let mut axes = Vec::new();
    find_sweeps(&value, &mut Vec::new(), &mut axes);
    let mut runs = Vec::new();
    let sizes: Vec<usize> = axes.iter().map(|(_, vals): &(Vec<PathPart>, Vec<toml::Value>)| vals.len()).collect();
    let combos = sizes.iter().try_fold(1usize, |a, &n| a.checked_mul(n)).unwrap_or(usize::MAX);
    if combos > max_runs {
        let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
        return Err(AerError::Invalid(format!(
            "{origin}: the sweeps make {combos} runs ({} values), more than the {max_runs} allowed; shorten the lists, or raise the limit with --max-runs",
            sizes.join(" x ")
        )));
    }
    for c in 0..combos {
        let mut v = value.clone();
        let mut rest = c;
        let mut parts = Vec::new();
        // The last list varies fastest.
        let mut picks = vec![0; axes.len()];
        for (i, (_, vals)) in axes.iter().enumerate().rev() {
            picks[i] = rest % vals.len();
            rest /= vals.len();
        }
        for ((path, vals), &k) in axes.iter().zip(&picks) {
            *at(&mut v, path) = vals[k].clone();
            parts.push(format!("{}={}", key_name(path, &axes), scalar(&vals[k])));
        }
        let label = parts.join(",");
        // Errors name the run of a sweep, so that its values can be found.
        let which = if label.is_empty() { origin.to_string() } else { format!("{origin}, run {label}") };
        let pipeline: Pipeline = v.try_into().map_err(|e: toml::de::Error| AerError::Invalid(format!("{which}: {e}")))?;
        pipeline.check(&which)?;
        let dir = if label.is_empty() { "run".to_string() } else { label.chars().map(|ch| if ch.is_ascii_alphanumeric() || "=.-".contains(ch) { ch } else { '_' }).collect() };
        runs.push(Run { label, dir, pipeline });
    }
    Ok(runs)
}

#[derive(Clone, Debug, PartialEq)]
enum PathPart {
    Key(String),
    Index(usize),
}

fn find_sweeps(v: &toml::Value, path: &mut Vec<PathPart>, out: &mut Vec<(Vec<PathPart>, Vec<toml::Value>)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                path.push(PathPart::Key(k.clone()));
                match x {
                    toml::Value::Array(items) if SWEEPABLE.contains(&k.as_str()) && !items.is_empty() && items.iter().all(|i| !i.is_table() && !i.is_array()) => {
                        out.push((path.clone(), items.clone()));
                    }
                    _ => find_sweeps(x, path, out),
                }
                path.pop();
            }
        }
        toml::Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                path.push(PathPart::Index(i));
                find_sweeps(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut toml::Value, path: &[PathPart]) -> &'a mut toml::Value {
    path.iter().fold(v, |v, p| match p {
        PathPart::Key(k) => v.get_mut(k.as_str()).expect("swept key exists"),
        PathPart::Index(i) => v.get_mut(*i).expect("swept index exists"),
    })
}

/// The swept key's name, with its stage (`stages.2.sparsity` as `s2.sparsity`) when two
/// sweeps share a name.
fn key_name(path: &[PathPart], axes: &[(Vec<PathPart>, Vec<toml::Value>)]) -> String {
    let last = |p: &[PathPart]| match p.last() {
        Some(PathPart::Key(k)) => k.clone(),
        _ => String::new(),
    };
    let name = last(path);
    if axes.iter().filter(|(p, _)| last(p) == name).count() < 2 {
        return name;
    }
    match path.get(1) {
        Some(PathPart::Index(i)) => format!("s{i}.{name}"),
        _ => name,
    }
}

fn scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Classes assumed when checking attack settings without the data: enough for every attack.
const STATIC_CLASSES: usize = 10;

impl Pipeline {
    fn check(&self, origin: &str) -> Result<()> {
        if self.stages.is_empty() {
            return Err(AerError::Invalid(format!("{origin}: no stages; add [[stages]] tables (kind = \"train\", \"prune\", \"lottery\", \"quantize\", \"attack\", \"watermark\" or \"bench\")")));
        }
        for (i, s) in self.stages.iter().enumerate() {
            let needs_model = !matches!(s, Stage::Train { .. } | Stage::Lottery { .. });
            if i == 0 && needs_model {
                return Err(AerError::Invalid(format!("{origin}: stage 1 is '{}', which needs a model: start with a train stage", s.kind())));
            }
            let bad = |what: String| AerError::Invalid(format!("{origin}: stage {} ({}): {what}", i + 1, s.kind()));
            // Every training method's settings, before the first stage runs.
            if let Some(train) = s.train() {
                if train.epochs == 0 || train.batch_size == 0 {
                    return Err(bad(format!("epochs {} and batch_size {}: both must be at least 1", train.epochs, train.batch_size)));
                }
                if !(train.optimizer.lr.is_finite() && train.optimizer.lr > 0.0) {
                    return Err(bad(format!("lr {}: the learning rate must be a positive number", train.optimizer.lr)));
                }
                crate::methods::REGISTRY.check(train).map_err(|e| bad(e.to_string()))?;
            }
            match s {
                Stage::Prune { sparsity, ramp_epochs, train, .. } => {
                    crate::sparse::GradualPrune { sparsity: *sparsity, ramp_epochs: *ramp_epochs, scope: Scope::Global }.check(train.epochs).map_err(|e| bad(e.to_string()))?;
                }
                Stage::Lottery { rounds, rate, .. } if *rounds == 0 || !(*rate > 0.0 && *rate < 1.0) => return Err(bad(format!("rounds must be at least 1 and rate in (0, 1); got {rounds} and {rate}"))),
                Stage::Train { .. } => {}
                Stage::Attack { n, .. } if *n == 0 => return Err(bad("n must be at least 1".into())),
                // Every setting that does not depend on the data (radii, steps, queries, the
                // attack list); `validate::check_with_data` checks again with the data's shape
                // and classes before the first stage runs.
                Stage::Attack { attack, .. } => super::validate::check_attack(attack, [1, 28, 28], STATIC_CLASSES).map_err(|e| bad(format!("{e}; fix [stages.attack]")))?,
                Stage::Bench { batch, runs } if *batch == 0 || *runs == 0 => return Err(bad("batch and runs must be at least 1".into())),
                Stage::Watermark { key, triggers, alpha } => {
                    if *triggers == 0 || !(*alpha > 0.0 && *alpha < 1.0) {
                        return Err(bad(format!("triggers must be at least 1 and alpha in (0, 1); got {triggers} and {alpha}")));
                    }
                    crate::watermark::WatermarkKey::load(key).map_err(|e| bad(e.to_string()))?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
name = "t"
seed = [0, 1]
[[stages]]
kind = "train"
[stages.train]
epochs = 2
[[stages]]
kind = "prune"
sparsity = [0.5, 0.8, 0.9]
[stages.train]
epochs = 1
[[stages]]
kind = "attack"
n = 10
[stages.attack]
attacks = ["fgsm", "pgd"]
"#;

    #[test]
    fn lists_expand_into_runs() {
        let runs = parse(FILE, "t.toml", MAX_RUNS).unwrap();
        assert_eq!(runs.len(), 6);
        assert_eq!(runs[0].label, "seed=0,sparsity=0.5");
        assert_eq!(runs[5].label, "seed=1,sparsity=0.9");
        assert_eq!(runs[4].pipeline.seed, 1);
        match &runs[4].pipeline.stages[1] {
            Stage::Prune { sparsity, .. } => assert_eq!(*sparsity, 0.8),
            s => panic!("{s:?}"),
        }
        // A list that is a list in its own right is left alone.
        match &runs[0].pipeline.stages[2] {
            Stage::Attack { attack, .. } => assert_eq!(attack.attacks.as_ref().unwrap().len(), 2),
            s => panic!("{s:?}"),
        }
        assert!(runs.iter().all(|r| !r.dir.contains(',')));
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = parse("name = \"x\"\n[[stages]]\nkind = \"attack\"\n", "p.toml", MAX_RUNS).unwrap_err().to_string();
        assert!(e.contains("start with a train stage"), "{e}");
        let e = parse("name = \"x\"\n[[stages]]\nkind = \"trian\"\n", "p.toml", MAX_RUNS).unwrap_err().to_string();
        assert!(e.contains("trian"), "{e}");
        let e = parse("name = \"x\"\n[[stages]]\nkind = \"train\"\n[[stages]]\nkind = \"prune\"\nsparsity = 1.5\n", "p.toml", MAX_RUNS).unwrap_err().to_string();
        assert!(e.contains("stage 2 (prune)") && e.contains("sparsity"), "{e}");
    }

    /// An attack stage's bad settings are refused when the file is read, before any stage
    /// trains, naming the run of the sweep, the stage and the setting.
    #[test]
    fn attack_settings_are_checked_before_anything_runs() {
        let file = |attack: &str| format!("name = \"x\"\nseed = [0, 1]\n[[stages]]\nkind = \"train\"\n[[stages]]\nkind = \"attack\"\n[stages.attack]\n{attack}\n");
        for (attack, key) in [
            ("eps = -0.1", "eps"),
            ("steps = 0", "steps"),
            ("eps = 2.0", "eps 2"),
            ("square_queries = 0\nattacks = [\"square\"]", "square_queries"),
            ("fab_steps = 0\nattacks = [\"fab-t\"]", "fab_steps"),
            ("attacks = []", "attack list is empty"),
            ("curve = [0.1, -1.0]", "curve radii"),
            ("norm = \"l2\"\nattacks = [\"square\"]", "L-inf only"),
        ] {
            let e = parse(&file(attack), "p.toml", MAX_RUNS).unwrap_err().to_string();
            assert!(e.contains("p.toml, run seed=0: stage 2 (attack)") && e.contains(key) && e.contains("[stages.attack]"), "{attack}: {e}");
        }
        let e = parse("name = \"x\"\n[[stages]]\nkind = \"train\"\n[[stages]]\nkind = \"attack\"\nn = 0\n", "p.toml", MAX_RUNS).unwrap_err().to_string();
        assert!(e.contains("stage 2 (attack): n must be at least 1"), "{e}");
        assert!(parse(&file("eps = 0.1\nsteps = 3"), "p.toml", MAX_RUNS).is_ok());
    }

    /// `--set` replaces a value, adds one the file leaves out, and refuses a name the format
    /// does not know, naming it.
    #[test]
    fn overrides_replace_add_and_refuse_unknown_keys() {
        let sets = ["seed=4", "stages.2.attack.steps=7", "stages.1.sparsity=[0.5, 0.6]"].map(String::from);
        let runs = parse_with(FILE, "t.toml", MAX_RUNS, &sets).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1].label, "sparsity=0.6");
        assert_eq!(runs[0].pipeline.seed, 4);
        match &runs[0].pipeline.stages[2] {
            Stage::Attack { attack, .. } => assert_eq!(attack.steps, Some(7)),
            s => panic!("{s:?}"),
        }
        let e = parse_with(FILE, "t.toml", MAX_RUNS, &["stages.2.attack.stepz=7".to_string()]).unwrap_err().to_string();
        assert!(e.contains("stepz") && e.contains("--set added stages.2.attack.stepz"), "{e}");
        let e = parse_with(FILE, "t.toml", MAX_RUNS, &["stages.2.eps=0.1".to_string()]).unwrap_err().to_string();
        assert!(e.contains("eps") && e.contains("--set added stages.2.eps"), "{e}");
    }

    /// 300 x 300 x 300 values are refused at once, naming the count, before any is expanded;
    /// a higher limit lets a sweep through.
    #[test]
    fn sweeps_beyond_the_run_limit_are_refused_up_front() {
        let list = |n: usize| format!("[{}]", (0..n).map(|i| (i + 1).to_string()).collect::<Vec<_>>().join(", "));
        let file = format!("name = \"x\"\nseed = {}\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = {}\nbatch_size = {}\n", list(300), list(300), list(300));
        let t = std::time::Instant::now();
        let e = parse(&file, "p.toml", MAX_RUNS).unwrap_err().to_string();
        assert!(e.contains("27000000 runs") && e.contains("300 x 300 x 300") && e.contains("--max-runs"), "{e}");
        assert!(t.elapsed().as_secs() < 5, "refused only after {:?}", t.elapsed());
        let small = format!("name = \"x\"\nseed = {}\n[[stages]]\nkind = \"train\"\n", list(3));
        assert!(parse(&small, "p.toml", 2).is_err());
        assert_eq!(parse(&small, "p.toml", 3).unwrap().len(), 3);
    }
}
