//! Repeated timing after warm-up: wall clock around submit-and-wait, which every adapter
//! supports (the browser included).

use crate::error::Result;
use crate::gpu::Gpu;
use web_time::Instant;

#[derive(Clone, Debug)]
pub struct Timing {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub runs: usize,
}

/// Run `record` (which records GPU work) `warmup` times, then `runs` times, each timed from
/// the start of recording to the GPU finishing.
pub async fn time_async(gpu: &Gpu, warmup: usize, runs: usize, mut record: impl FnMut()) -> Result<Timing> {
    for _ in 0..warmup {
        record();
        gpu.reached(gpu.marker()).await?;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        record();
        gpu.reached(gpu.marker()).await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Ok(Timing { median_ms: ms[ms.len() / 2], min_ms: ms[0], max_ms: *ms.last().unwrap(), runs: ms.len() })
}
