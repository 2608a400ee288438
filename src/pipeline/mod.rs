//! Experiment pipelines: ordered stages (train, adversarial train, prune with a schedule,
//! quantize, attack, benchmark) in a TOML file, each reading the previous stage's checkpoint;
//! sweeps over stage parameters; resumption after a stop; and one summary per run for the
//! AER report (`crate::report::aer`).

mod overrides;
mod rerun;
mod run;
mod spec;
mod summary;
mod validate;

pub use run::{first_difference, one_line, run_pipeline, Event, RunOptions, StageRecord, RUN_FORMAT};
pub use spec::{parse, parse_with, Pipeline, Run, Stage, MAX_RUNS, SWEEPABLE};
pub use validate::{check_attack, check_with_data};
pub use summary::{summarise, AttackSummary, CurvePoint, RunSummary};
