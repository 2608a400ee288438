//! Experiment pipelines: ordered stages (train, adversarial train, prune with a schedule,
//! quantize, attack, benchmark) in a TOML file, each reading the previous stage's checkpoint;
//! sweeps over stage parameters, with the stages their runs share computed once (`graph`);
//! resumption after a stop; one point of a sweep at a time (`run_point`), as the executors
//! start them (`executor`: local processes, Slurm job arrays); the run directory as the
//! sweep's state (`sweep`); and one summary per run for the AER report (`crate::report::aer`).

#[cfg(not(target_arch = "wasm32"))]
pub mod executor;
pub mod graph;
mod overrides;
mod rerun;
mod run;
mod spec;
mod summary;
pub mod sweep;
mod validate;

pub use graph::{SharedJob, SweepGraph};
pub use run::{first_difference, one_line, run_pipeline, run_point, Event, RunOptions, StageRecord, FAILED_FILE, RUN_FORMAT};
pub use spec::{effective_text, parse, parse_with, Pipeline, Run, Stage, MAX_RUNS, SWEEPABLE};
pub use summary::{summarise, AttackSummary, CurvePoint, RunSummary, WatermarkSummary};
pub use validate::{check_attack, check_with_data};
