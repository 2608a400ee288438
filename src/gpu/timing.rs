//! Repeated timing after warm-up: GPU timestamp queries where the adapter has them, else
//! wall clock around submit-and-wait (which every adapter supports, the browser included).

use crate::error::Result;
use super::{Gpu, GpuTimer, KernelTime};
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
pub fn take_profile() -> Option<Vec<KernelTime>> {
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
    let clock = Clock::new(gpu);
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        ms.push(clock.time(gpu, &mut record).await?);
    }
    profile(gpu, &mut record).await?;
    Ok(clock.timing(ms))
}

/// `time_async` for `record` and `reference` together: in every run both, the one first
/// that went second in the run before, so that an adapter whose speed drifts (a CPU shared
/// with other work) slows both alike. Returns both timings and the median over runs of
/// reference time / record time, the speed-up measured pair by pair.
pub async fn time_paired(gpu: &Gpu, warmup: usize, runs: usize, mut record: impl FnMut(), mut reference: impl FnMut()) -> Result<(Timing, Timing, f64)> {
    for _ in 0..warmup {
        record();
        reference();
        gpu.reached(gpu.marker()).await?;
    }
    let clock = Clock::new(gpu);
    let (mut ms, mut ref_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs.max(1) {
        let (a, b) = if run % 2 == 0 {
            let b = clock.time(gpu, &mut reference).await?;
            (clock.time(gpu, &mut record).await?, b)
        } else {
            let a = clock.time(gpu, &mut record).await?;
            (a, clock.time(gpu, &mut reference).await?)
        };
        ratios.push(b / a);
        ms.push(a);
        ref_ms.push(b);
    }
    profile(gpu, &mut record).await?;
    ratios.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Ok((clock.timing(ms), clock.timing(ref_ms), ratios[ratios.len() / 2]))
}

/// GPU timestamps where the adapter has them, else the wall clock.
struct Clock {
    timer: Option<GpuTimer>,
}

impl Clock {
    fn new(gpu: &Gpu) -> Self {
        // Wall clock may be forced (AER_BENCH_TIMING=wall), e.g. to compare the two methods.
        let wall = crate::gpu::option_env_var("AER_BENCH_TIMING").is_some_and(|v| v == "wall");
        Clock { timer: if wall { None } else { GpuTimer::new(gpu) } }
    }

    /// Milliseconds of the GPU work `record` records.
    async fn time(&self, gpu: &Gpu, record: &mut impl FnMut()) -> Result<f64> {
        match &self.timer {
            Some(t) => {
                gpu.reached(gpu.marker()).await?;
                t.begin(gpu);
                record();
                t.end(gpu).await
            }
            None => {
                let t = Instant::now();
                record();
                gpu.reached(gpu.marker()).await?;
                Ok(t.elapsed().as_secs_f64() * 1e3)
            }
        }
    }

    fn timing(&self, mut ms: Vec<f64>) -> Timing {
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let method = if self.timer.is_some() { TIMESTAMPS } else { WALL_CLOCK };
        Timing { median_ms: ms[ms.len() / 2], min_ms: ms[0], max_ms: *ms.last().unwrap(), runs: ms.len(), method }
    }
}

/// With `--profile`, one more run of `record` with every launch timed, kept for `take_profile`.
async fn profile(gpu: &Gpu, record: &mut impl FnMut()) -> Result<()> {
    if PROFILE_KERNELS.with(|c| c.get()) && gpu.begin_profile() {
        gpu.reached(gpu.marker()).await?;
        record();
        let kernels = gpu.end_profile().await?;
        LAST_PROFILE.with(|p| *p.borrow_mut() = Some(kernels));
    }
    Ok(())
}
