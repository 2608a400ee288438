//! The benchmark suite, kept in the library so the native binary (`aer-bench`) and the
//! browser run the same entries. Each entry checks its result against the CPU reference on
//! its first run, then times repeated runs after warm-up. A run is saved as one JSON file
//! (`RunReport`), and `compare` lays several side by side.

mod compare;
mod entries;
mod inference;
mod roofline;
mod sparse;
mod suite;
mod tune;

pub use compare::{compare_markdown, compare_svg};
pub use entries::{inject_check_failures, ConvPass};
pub use inference::{InferFormat, Wta};
pub use roofline::{annotate, fraction_of_peak, measure_peaks, Peaks};
pub use sparse::{sparse_entry, SparseFormat, SparseLayer};
pub use suite::{check_filter, run_suite, select, suite, Entry, Selection};
pub use crate::gpu::{profile_kernels, time_async, time_paired, Timing, TIMESTAMPS, WALL_CLOCK};
pub use tune::{matmul_shapes, tune_crossover, tune_cutoffs, tune_matmul, CutoffReport, MatmulReport, TuneReport};

use crate::gpu::{AdapterSummary, KernelTime};
use serde::{Deserialize, Serialize};

/// Version of the suite's entry set: ids and what they measure.
pub const SUITE_VERSION: u32 = 10;
// 4: block-sparse products, the block-sparse training step, inference (dense, block-sparse,
// ternary) and top-k selection joined. 5: ternary products with f16 activations. 6: inference
// with winners-take-all activation sparsity, with and without channel skipping. 7: the direct
// weight gradient for convolutions with few weights; block-sparse and channel-skipping steps
// and attacks timed run for run against their references. 8: training steps of smallcnn and
// of resnet20 on CIFAR-shaped data, timed against resnet20 without batchnorm and shortcuts.
// 9: one step of PGD adversarial training of the cnn (PGD-10, then a training step).
// 10: the mlp's nine products at the suite's batch (`matmul/f32/mlp-fc1-fwd/b128` ...), and
// resnet20's inference with its batchnorms folded against evaluating them.
/// Version of the result file's layout (`RunReport`). 2: the adapter's measured peaks
/// (`peaks`) and each entry's `fraction_of_peak` and `bound`. Files of schema 1 still read
/// (without them).
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest layout `RunReport::from_json` reads.
pub const OLDEST_SCHEMA: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EntryResult {
    /// Stable id, e.g. `matmul/f32/1024`, matched by `--filter`.
    pub id: String,
    /// "ok", or why the correctness check failed (then nothing is timed).
    pub status: String,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs: usize,
    pub gflops: Option<f64>,
    pub gbytes_per_s: Option<f64>,
    /// `TIMESTAMPS` or `WALL_CLOCK`.
    pub timing: String,
    /// Examples per second, for entries that process a batch (training steps, attacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_s: Option<f64>,
    /// Time per kernel in one more run, largest first (`aer-bench --profile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernels: Option<Vec<KernelTime>>,
    /// For an entry timed in the same runs as a reference computation (`time_paired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versus: Option<Versus>,
    /// Speed as a share of the adapter's measured peak that bounds this entry (`bound`):
    /// GFLOP/s over the FMA peak, or GB/s over the copy's (see `fraction_of_peak`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction_of_peak: Option<f64>,
    /// "compute" or "memory".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound: Option<String>,
}

/// A reference timed alongside an entry, run for run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Versus {
    /// The reference's own entry id (e.g. the dense step for a block-sparse one).
    pub reference: String,
    pub reference_median_ms: f64,
    /// The median over runs of the reference's time over the entry's.
    pub speedup: f64,
}

impl EntryResult {
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }
}

/// One run of the suite on one adapter: the file `aer-bench --out` writes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    pub schema_version: u32,
    pub suite_version: u32,
    pub adapter: AdapterSummary,
    /// Operating system and CPU architecture of the host.
    pub os: String,
    pub arch: String,
    /// `git describe --always --dirty` of the source, or "unknown".
    pub git_revision: String,
    /// Tiny sizes (`--quick`).
    pub quick: bool,
    /// Seconds since the Unix epoch when the run finished.
    pub created_unix: u64,
    /// The adapter's peaks measured at the start of the run (`measure_peaks`); absent in
    /// schema 1 and where they were not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks: Option<Peaks>,
    pub results: Vec<EntryResult>,
}

impl RunReport {
    /// "adapter (backend)", how tables and charts name a run.
    pub fn label(&self) -> String {
        format!("{} ({})", self.adapter.name, self.adapter.backend)
    }

    /// Parse a result file, refusing newer layouts by name.
    pub fn from_json(text: &str, origin: &str) -> crate::Result<RunReport> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| crate::AerError::Invalid(format!("{origin}: not JSON: {e}")))?;
        let schema = v.get("schema_version").and_then(|s| s.as_u64());
        if !schema.is_some_and(|s| (OLDEST_SCHEMA as u64..=SCHEMA_VERSION as u64).contains(&s)) {
            return Err(crate::AerError::Invalid(format!(
                "{origin}: result schema {schema:?}, this build reads schemas {OLDEST_SCHEMA} to {SCHEMA_VERSION}; rerun aer-bench to regenerate it"
            )));
        }
        serde_json::from_value(v).map_err(|e| crate::AerError::Invalid(format!("{origin}: not a benchmark result: {e}")))
    }
}
