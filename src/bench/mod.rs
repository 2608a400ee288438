//! The benchmark suite, kept in the library so the native binary (`aer-bench`) and the
//! browser run the same entries. Each entry checks its result against the CPU reference on
//! its first run, then times repeated runs after warm-up.

mod entries;
mod timing;

pub use entries::{matmul_entry, pgd_entry, train_step_entry};
pub use timing::{time_async, Timing};

use serde::{Deserialize, Serialize};

/// Version of the suite's entry set and of the result file's schema.
pub const SUITE_VERSION: u32 = 2;

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
    /// "wall clock around submit-and-wait" or "gpu timestamps".
    pub timing: String,
    /// Examples per second, for entries that process a batch (attacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_s: Option<f64>,
}
