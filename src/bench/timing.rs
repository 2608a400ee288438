//! Repeated timing after warm-up: GPU timestamp queries where the adapter has them, else
//! wall clock around submit-and-wait (which every adapter supports, the browser included).

use crate::error::Result;
use crate::gpu::{Gpu, GpuTimer, KernelTime};
use web_time::Instant;

thread_local! {
    static PROFILE_KERNELS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PROFILE: std::cell::RefCell<Option<Vec<KernelTime>>> = const { std::cell::RefCell::new(None) };
}

/// After timing, run each entry once more with every launch timed (`aer-bench --profile`).
pub fn profile_kernels(on: bool) {
    PROFILE_KERNELS.with(|c| c.set(on));
}

/// The per-kernel breakdown of the last entry timed on this thread, if it was profiled.
pub(super) fn take_profile() -> Option<Vec<KernelTime>> {
    LAST_PROFILE.with(|p| p.borrow_mut().take())
}

pub const TIMESTAMPS: &str = "gpu timestamps";
pub const WALL_CLOCK: &str = "wall clock around submit-and-wait";

#[derive(Clone, Debug)]
pub struct Timing {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs: usize,
    /// `TIMESTAMPS` or `WALL_CLOCK`.
    pub method: &'static str,
}

/// Run `record` (which records GPU work) `warmup` times, then `runs` times, each timed on the
/// GPU's clock when possible, else from the start of recording to the GPU finishing.
pub async fn time_async(gpu: &Gpu, warmup: usize, runs: usize, mut record: impl FnMut()) -> Result<Timing> {
    for _ in 0..warmup {
        record();
        gpu.reached(gpu.marker()).await?;
    }
    // Wall clock may be forced (AER_BENCH_TIMING=wall), e.g. to compare the two methods.
    let wall = crate::gpu::option_env_var("AER_BENCH_TIMING").is_some_and(|v| v == "wall");
    let timer = if wall { None } else { GpuTimer::new(gpu) };
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        match &timer {
            Some(t) => {
                gpu.reached(gpu.marker()).await?;
                t.begin(gpu);
                record();
                ms.push(t.end(gpu).await?);
            }
            None => {
                let t = Instant::now();
                record();
                gpu.reached(gpu.marker()).await?;
                ms.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    if PROFILE_KERNELS.with(|c| c.get()) && gpu.begin_profile() {
        gpu.reached(gpu.marker()).await?;
        record();
        let kernels = gpu.end_profile().await?;
        LAST_PROFILE.with(|p| *p.borrow_mut() = Some(kernels));
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let method = if timer.is_some() { TIMESTAMPS } else { WALL_CLOCK };
    Ok(Timing { median_ms: ms[ms.len() / 2], min_ms: ms[0], max_ms: *ms.last().unwrap(), runs: ms.len(), method })
}
