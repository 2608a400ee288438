//! Choosing a kernel for an adapter, in one place: a kernel's variants keyed by the adapter's
//! kind (`variant`), the thresholds between kernels of one operation (`Crossover`, measured
//! per adapter by `aer tune` and cached, else shipped defaults), and the per-adapter cache
//! those measurements live in. Kernels and models ask here; `crate::bench` only measures.

use crate::gpu::Gpu;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `cpu` on CPU adapters (which run a SIMD group's loads lane by lane), `other` elsewhere,
/// unless the environment variable `env` names one of `named` (name, variant).
pub fn variant<T: Copy>(gpu: &Gpu, env: &str, named: &[(&str, T)], cpu: T, other: T) -> T {
    let forced = crate::gpu::option_env_var(env).and_then(|v| named.iter().find(|(name, _)| *name == v).map(|&(_, t)| t));
    forced.unwrap_or(if gpu.info.device_type == wgpu::DeviceType::Cpu { cpu } else { other })
}

/// The cutoffs' cache table.
pub const CUTOFFS_TABLE: &str = "cutoffs";

/// Sizes at which a layer changes kernels on one adapter, measured by `aer tune`
/// (`crate::bench::tune_cutoffs`) and cached beside the crossover; where none is cached,
/// `Cutoffs::shipped` (measured on lavapipe) serves. A model reads them once, when built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cutoffs {
    /// The adapter it was measured on.
    pub adapter: String,
    /// "shipped default", or "aer tune" and what it measured.
    pub source: String,
    /// Largest batch at which a linear layer skips the channels winners-take-all dropped. Each
    /// example reads its own columns of the weights, so the gathered product has none of the
    /// dense product's weight reuse across examples. A convolution reuses each weight over its
    /// output positions and always skips.
    pub skip_linear_max_batch: usize,
    /// In quantization-aware training, linear layers with at least this many weights run
    /// their forward product on weights packed before every forward pass, where the adapter
    /// runs the wide ternary kernel (CPU adapters); `usize::MAX`: none. The input gradient
    /// stays dense.
    pub packed_training_min_weights: usize,
}

impl Cutoffs {
    /// What `aer tune` measured on lavapipe (2026-12-07, with a figure run beside it; the same
    /// with and without its tuned matmul table): cnn's fc1 (256 x 1568, half of 32 channels
    /// kept) skipping 1.9 against 7.5 ms for one example, 7.49 against 7.56 for 4, 14.9 against
    /// 7.6 for 8; and at batch 128 packing plus the packed product slower than the dense
    /// product at every size from 100 x 300 to 1024 x 1024 (256 x 1568: 38.6 against 29.5-31.7
    /// ms), since the dense product's launches were tuned. (Earlier, against a slower dense
    /// product, packing won from about 300,000 weights and skipping up to batch 8.)
    pub fn shipped() -> Cutoffs {
        Cutoffs { adapter: String::new(), source: "shipped default (llvmpipe)".into(), skip_linear_max_batch: 4, packed_training_min_weights: usize::MAX }
    }

    /// The measured cutoffs for this adapter if `aer tune` cached them, else the shipped ones.
    pub fn for_gpu(gpu: &Gpu) -> Cutoffs {
        cached(gpu, CUTOFFS_TABLE, |c: &Cutoffs| &c.adapter).unwrap_or_else(Cutoffs::shipped)
    }
}

/// Where measured table `table` of `adapter` is cached: `<table>-<adapter>.json` in the cache
/// directory (`crate::gpu::cache_dir`: $AER_CACHE_DIR, else $XDG_CACHE_HOME/aer, else ~/.cache/aer).
#[cfg(not(target_arch = "wasm32"))]
pub fn cache_path(table: &str, adapter: &str) -> Option<std::path::PathBuf> {
    crate::gpu::cache_file(table, adapter, "json")
}

/// A measured table this adapter's cache holds, if any: `T` read from `table`'s cache file
/// when `adapter_of` says it was measured on this adapter (else a warning, and None).
pub fn cached<T: DeserializeOwned>(gpu: &Gpu, table: &str, adapter_of: impl Fn(&T) -> &str) -> Option<T> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(path) = cache_path(table, &gpu.adapter_label()) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            match serde_json::from_str::<T>(&text) {
                Ok(t) if adapter_of(&t) == gpu.adapter_label() => return Some(t),
                _ => log::warn!("ignoring {}: not a {table} table for this adapter; rerun `aer tune`", path.display()),
            }
        }
    }
    #[cfg(target_arch = "wasm32")]
    let _ = (gpu, table, adapter_of); // a browser has no cache directory
    None
}

/// Write a measured table into this adapter's cache; returns the file.
#[cfg(not(target_arch = "wasm32"))]
pub fn store<T: Serialize>(table: &str, adapter: &str, value: &T) -> crate::Result<std::path::PathBuf> {
    use crate::error::AerError;
    let path = cache_path(table, adapter).ok_or_else(|| AerError::Invalid("no cache directory: set AER_CACHE_DIR, XDG_CACHE_HOME or HOME".into()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AerError::Invalid(format!("{}: {e}", dir.display())))?;
    }
    crate::files::write_json(&path, value)?;
    Ok(path)
}

/// The block-sparse crossover's cache table.
pub const CROSSOVER_TABLE: &str = "bsr-crossover";

const SHIPPED: &str = include_str!("../../assets/configs/bsr-crossover.toml");

/// When a pruned layer should run on the block-sparse kernels: the largest share of kept
/// blocks, per block size, at which they beat the dense product on this adapter. `aer tune`
/// measures it (`crate::bench::tune_crossover`), the cache keeps it, and the table shipped in
/// `assets/configs/bsr-crossover.toml` serves where no measurement exists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Crossover {

    /// The adapter it was measured on.
    pub adapter: String,
    /// "shipped default", or "aer tune" with the date of the measurement.
    pub source: String,
    /// Block size (as text, for TOML and JSON keys) -> largest share of kept blocks.
    pub max_density: BTreeMap<String, f64>,
}

impl Crossover {
    /// The shipped table.
    pub fn shipped() -> Crossover {
        toml::from_str(SHIPPED).expect("assets/configs/bsr-crossover.toml parses")
    }

    /// Layers with a larger share of kept blocks stay dense (0 where the block size is not
    /// in the table).
    pub fn max_density(&self, block: usize) -> f64 {
        self.max_density.get(&block.to_string()).copied().unwrap_or(0.0)
    }

    /// Always use them where a layer has any pruned block.
    pub fn always() -> Crossover {
        let max_density = crate::kernels::BSR_BLOCKS.iter().map(|b| (b.to_string(), 1.0)).collect();
        Crossover { adapter: String::new(), source: "forced".into(), max_density }
    }

    /// The measured table for this adapter if `aer tune` cached one, else the shipped one.
    pub fn for_gpu(gpu: &Gpu) -> Crossover {
        cached(gpu, CROSSOVER_TABLE, |c: &Crossover| &c.adapter).unwrap_or_else(Crossover::shipped)
    }
}

/// The matmul tune table's cache table.
pub const MATMUL_TABLE: &str = "matmul";

/// Layout of `MatmulTable`; a cached table of another version is ignored.
pub const MATMUL_TABLE_VERSION: u32 = 1;

/// The fastest launch of the dense product per form and shape class on one adapter, measured
/// by `aer tune` (`crate::bench::tune_matmul`) and cached beside the crossover. Shape classes
/// (`MatmulTable::class`) round m, n and k each up to a power of two: shapes within a factor
/// of two of each other along every dimension share a launch. A class the table lacks, and
/// every class without a cached table, runs today's heuristic (`MatmulConfig::default_for`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatmulTable {
    /// `MATMUL_TABLE_VERSION` when it was measured.
    pub version: u32,
    /// The adapter it was measured on.
    pub adapter: String,
    /// "aer tune" and what it measured.
    pub source: String,
    /// Shape class -> the launch measured fastest there.
    pub choices: BTreeMap<String, MatmulChoice>,
}

/// One class's winner, with the shape it was measured on and its speed-up over the default
/// launch (the median of run-by-run ratios).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatmulChoice {
    pub config: crate::kernels::MatmulConfig,
    /// "m x n x k" measured.
    pub shape: String,
    pub ms: f64,
    pub speedup: f64,
}

impl MatmulTable {
    /// The class of a product: its form, `+acc` when it accumulates, and m, n, k rounded up
    /// to powers of two, e.g. `NT/m128/n512/k1024` or `TN+acc/m512/n1024/k128`.
    pub fn class(form: crate::kernels::MatmulForm, m: usize, n: usize, k: usize, accumulate: bool) -> String {
        let p = |x: usize| x.max(1).next_power_of_two();
        format!("{form:?}{}/m{}/n{}/k{}", if accumulate { "+acc" } else { "" }, p(m), p(n), p(k))
    }

    /// The cached launch for this product's class, if any.
    pub fn choice(&self, form: crate::kernels::MatmulForm, m: usize, n: usize, k: usize, accumulate: bool) -> Option<crate::kernels::MatmulConfig> {
        self.choices.get(&MatmulTable::class(form, m, n, k, accumulate)).map(|c| c.config)
    }

    /// This adapter's cached table, read from the cache now: None where there is none, or
    /// where it is of another adapter or version (with a warning).
    pub fn load(gpu: &Gpu) -> Option<MatmulTable> {
        let t = cached(gpu, MATMUL_TABLE, |t: &MatmulTable| &t.adapter)?;
        if t.version != MATMUL_TABLE_VERSION {
            log::warn!("ignoring the cached matmul table: version {}, this build reads {MATMUL_TABLE_VERSION}; rerun `aer tune`", t.version);
            return None;
        }
        Some(t)
    }

    /// `load`, once per adapter and process: every product consults it.
    pub fn for_gpu(gpu: &Gpu) -> Option<std::sync::Arc<MatmulTable>> {
        use std::sync::{Arc, Mutex, OnceLock};
        type Loaded = Mutex<BTreeMap<String, Option<Arc<MatmulTable>>>>;
        static LOADED: OnceLock<Loaded> = OnceLock::new();
        let mut loaded = LOADED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        loaded.entry(gpu.adapter_label()).or_insert_with(|| MatmulTable::load(gpu).map(Arc::new)).clone()
    }
}
