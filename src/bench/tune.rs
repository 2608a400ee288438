//! Measuring the block-sparse crossover of this adapter (`aer tune`): the kernel choice
//! itself, and its cache, live in `crate::kernels::tune`.

use super::{sparse_entry, ConvPass, SparseFormat, SparseLayer};
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::kernels::tune::Crossover;
use std::collections::BTreeMap;

/// Densities `tune_crossover` tries, largest first.
const DENSITIES: [f64; 8] = [0.9, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05];

/// What `tune_crossover` found for one block size: the crossover density and the (density, ms) tried.
pub type TuneReport<'a> = &'a mut dyn FnMut(usize, f64, &[(f64, f64)]);

/// Measure the crossover on this adapter: for each block size, the largest density (of
/// `DENSITIES`) at which forward, input gradient and weight gradient together take less time
/// on the BSR kernels than on the dense product. `report` sees each block size's result.
pub async fn tune_crossover(gpu: &Gpu, quick: bool, runs: usize, report: TuneReport<'_>) -> Result<Crossover> {
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
