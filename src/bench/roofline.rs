//! The roofline napkin math of a run: the adapter's measured peaks (an FMA-bound kernel and a
//! streaming copy, `shaders/roofline.wgsl`) at the start, and each entry's speed as a share of
//! the peak that bounds it, from its FLOPs and bytes moved.

use super::{time_async, EntryResult};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernels::{fma_peak, fma_peak_flops, stream_copy};
use serde::{Deserialize, Serialize};

/// What the adapter sustains, measured by `measure_peaks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peaks {
    /// f32 multiply-adds, counted as 2 flops each.
    pub gflops: f64,
    /// A copy: bytes read plus bytes written per second.
    pub gbps: f64,
    /// On a CPU adapter where the host says, the datasheet peak as a formula line:
    /// cores x f32 SIMD lanes x 2 (a multiply-add) x clock.
    pub formula: Option<String>,
}

/// Time both kernels (median of `runs`): the FMA kernel on 64 workgroups of 64 invocations
/// over 4,096 steps (1.07 GFLOP), the copy over 2 x 64 MiB, beyond any CPU's cache (with
/// `quick`, 16 workgroups over 256 steps and 2 x 64 KiB: a smoke test, not a peak).
pub async fn measure_peaks(gpu: &Gpu, quick: bool, runs: usize) -> Result<Peaks> {
    let (n, iters, copy_n) = if quick { (16 * 64 * 4, 256, 16 << 10) } else { (64 * 64 * 4, 4096, 16 << 20) };
    let (x, y) = (gpu.upload(&vec![0.5f32; n], &[n]), gpu.empty(&[n]));
    let t = time_async(gpu, 1, runs, || fma_peak(gpu, &x, &y, iters)).await?;
    let gflops = fma_peak_flops(n, iters) / (t.median_ms / 1e3) / 1e9;
    let (src, dst) = (gpu.zeros(&[copy_n]), gpu.empty(&[copy_n]));
    let t = time_async(gpu, 1, runs, || stream_copy(gpu, &src, &dst)).await?;
    let gbps = (8 * copy_n) as f64 / (t.median_ms / 1e3) / 1e9;
    let formula = (gpu.info.device_type == wgpu::DeviceType::Cpu).then(cpu_formula).flatten();
    Ok(Peaks { gflops, gbps, formula })
}

/// The share of its peak an entry reached, and which peak bounds it: "compute" where its
/// arithmetic intensity (FLOPs per byte) times the copy's bandwidth exceeds the FMA peak,
/// else "memory"; an entry with bytes but no FLOPs is memory-bound. None where an entry
/// records neither (training steps, attacks) or failed.
pub fn fraction_of_peak(r: &EntryResult, peaks: &Peaks) -> Option<(f64, &'static str)> {
    if !r.ok() {
        return None;
    }
    match (r.gflops, r.gbytes_per_s) {
        // FLOPs / bytes = gflops / gbytes_per_s: the same time divides both.
        (Some(f), Some(b)) if b > 0.0 && (f / b) * peaks.gbps >= peaks.gflops => Some((f / peaks.gflops, "compute")),
        (Some(f), None) => Some((f / peaks.gflops, "compute")),
        (_, Some(b)) => Some((b / peaks.gbps, "memory")),
        (None, None) => None,
    }
}

/// Record `fraction_of_peak` in each result.
pub fn annotate(results: &mut [EntryResult], peaks: &Peaks) {
    for r in results {
        if let Some((f, bound)) = fraction_of_peak(r, peaks) {
            r.fraction_of_peak = Some(f);
            r.bound = Some(bound.into());
        }
    }
}

/// "2 cores x 8 lanes x 2 x 2.80 GHz = 89.6 GFLOP/s" from what the host reports: the cores
/// this process may use, 8 f32 lanes with AVX2 (16 with AVX-512, 4 otherwise), and the
/// first clock in /proc/cpuinfo (Linux only). One FMA unit per core: a core with two issues
/// twice this.
fn cpu_formula() -> Option<String> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let cores = std::thread::available_parallelism().ok()?.get();
        let lanes = if std::arch::is_x86_feature_detected!("avx512f") {
            16
        } else if std::arch::is_x86_feature_detected!("avx2") {
            8
        } else {
            4
        };
        let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
        let mhz: f64 = info.lines().find(|l| l.starts_with("cpu MHz"))?.split(':').nth(1)?.trim().parse().ok()?;
        let ghz = mhz / 1e3;
        let peak = cores as f64 * lanes as f64 * 2.0 * ghz;
        return Some(format!("{cores} cores x {lanes} lanes x 2 x {ghz:.2} GHz = {peak:.1} GFLOP/s (one FMA unit per core; two double it)"));
    }
    #[allow(unreachable_code)]
    None
}
