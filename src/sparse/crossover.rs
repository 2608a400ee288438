//! When a pruned layer should run on the block-sparse kernels: the largest share of kept
//! blocks, per block size, at which they beat the dense product on this adapter. `tune`
//! measures it (`aer tune`), a per-adapter cache file keeps it, and the table shipped in
//! `assets/configs/bsr-crossover.toml` serves where no measurement exists.

use crate::bench::{sparse_entry, ConvPass, SparseFormat, SparseLayer};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const SHIPPED: &str = include_str!("../../assets/configs/bsr-crossover.toml");

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
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(path) = cache_path(&gpu.adapter_label()) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                match serde_json::from_str::<Crossover>(&text) {
                    Ok(c) if c.adapter == gpu.adapter_label() => return c,
                    _ => eprintln!("warning: ignoring {}: not a crossover table for this adapter; rerun `aer tune`", path.display()),
                }
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = gpu; // a browser has no cache directory
        Crossover::shipped()
    }
}

/// Where `aer tune` caches the table of an adapter: $AER_CACHE_DIR, else $XDG_CACHE_HOME/aer,
/// else ~/.cache/aer.
#[cfg(not(target_arch = "wasm32"))]
pub fn cache_path(adapter: &str) -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let dir = std::env::var_os("AER_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("aer")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("aer")))?;
    let name: String = adapter.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    Some(dir.join(format!("bsr-crossover-{name}.json")))
}

/// Densities `tune` tries, largest first.
const DENSITIES: [f64; 8] = [0.9, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05];

/// What `tune` found for one block size: the crossover density and the (density, ms) tried.
pub type TuneReport<'a> = &'a mut dyn FnMut(usize, f64, &[(f64, f64)]);

/// Measure the crossover on this adapter: for each block size, the largest density (of
/// `DENSITIES`) at which forward, input gradient and weight gradient together take less time
/// on the BSR kernels than on the dense product. `report` sees each block size's result.
pub async fn tune(gpu: &Gpu, quick: bool, runs: usize, report: TuneReport<'_>) -> Result<Crossover> {
    let layer = if quick { SparseLayer::linear("256x256", 256, 256, 32) } else { SparseLayer::linear("1024x1024", 1024, 1024, 128) };
    let total = |format: SparseFormat| async move {
        let mut ms = 0.0;
        for pass in [ConvPass::Forward, ConvPass::BackwardData, ConvPass::BackwardWeight] {
            let r = sparse_entry(gpu, layer, pass, format, runs).await?;
            if !r.ok() {
                return Err(AerError::Invalid(format!("{}: {}", r.id, r.status)));
            }
            ms += r.median_ms;
        }
        Ok::<f64, AerError>(ms)
    };
    let dense = total(SparseFormat::Dense).await?;
    let mut max_density = BTreeMap::new();
    for block in crate::kernels::BSR_BLOCKS {
        let mut times = Vec::new();
        let mut best = 0.0;
        for d in DENSITIES {
            let ms = total(SparseFormat::Bsr { block, density: d }).await?;
            times.push((d, ms));
            if ms < dense {
                best = d;
                break;
            }
        }
        report(block, best, &times);
        max_density.insert(block.to_string(), best);
    }
    Ok(Crossover { adapter: gpu.adapter_label(), source: format!("aer tune on {} (dense {dense:.3} ms)", layer.name), max_density })
}
