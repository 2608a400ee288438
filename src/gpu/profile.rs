//! Per-kernel timing: while a profile is open, every launch writes a GPU timestamp at the
//! start and end of its compute pass, so a training step or an attack can be broken down
//! into the kernels it ran, as the GPU's clock saw them. For finding where time goes; the
//! benchmark's figures come from `GpuTimer`, which adds no work between launches.

use super::context::Gpu;
use crate::error::{AerError, Result};

/// Launches per query set (two timestamps each; 4,096 queries is the most a set may hold).
const LAUNCHES_PER_SET: u32 = 2048;

/// Time spent in one kernel over a profile, summed over its launches.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KernelTime {
    /// "shader::entry", with the pipeline's override constants where it has any.
    pub kernel: String,
    pub launches: usize,
    pub total_ms: f64,
}

/// The query sets of an open profile and which kernel each launch ran.
pub(crate) struct Profile {
    sets: Vec<wgpu::QuerySet>,
    kernels: Vec<String>,
}

impl Profile {
    pub(crate) fn new() -> Self {
        Profile { sets: Vec::new(), kernels: Vec::new() }
    }

    /// The timestamp writes for the next launch, which runs `kernel` (its name in the table).
    pub(crate) fn next_pass(&mut self, device: &wgpu::Device, kernel: String) -> wgpu::ComputePassTimestampWrites<'_> {
        let i = self.kernels.len() as u32;
        if i % LAUNCHES_PER_SET == 0 {
            self.sets.push(device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("aer kernel profile"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * LAUNCHES_PER_SET,
            }));
        }
        self.kernels.push(kernel);
        let at = 2 * (i % LAUNCHES_PER_SET);
        wgpu::ComputePassTimestampWrites {
            query_set: self.sets.last().unwrap(),
            beginning_of_pass_write_index: Some(at),
            end_of_pass_write_index: Some(at + 1),
        }
    }
}

impl Gpu {
    /// Start timing every launch (until `end_profile`). False, and nothing is timed, where the
    /// adapter has no timestamp queries.
    pub fn begin_profile(&self) -> bool {
        if !self.has_timestamps() {
            return false;
        }
        *self.profile.lock().unwrap() = Some(Profile::new());
        true
    }

    /// Stop timing launches and return the time per kernel, largest first.
    pub async fn end_profile(&self) -> Result<Vec<KernelTime>> {
        let profile = self.profile.lock().unwrap().take().ok_or_else(|| AerError::Gpu("end_profile without begin_profile".into()))?;
        let mut stagings = Vec::new();
        for (s, set) in profile.sets.iter().enumerate() {
            let used = (profile.kernels.len() - s * LAUNCHES_PER_SET as usize).min(LAUNCHES_PER_SET as usize) as u32;
            let bytes = 16 * used as u64;
            let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("aer profile resolve"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("aer profile readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.with_encoder(|enc| {
                enc.resolve_query_set(set, 0..2 * used, &resolve, 0);
                enc.copy_buffer_to_buffer(&resolve, 0, &staging, 0, bytes);
            });
            stagings.push(staging);
        }
        let mut ticks: Vec<u64> = Vec::new();
        for staging in &stagings {
            ticks.extend(bytemuck::pod_collect_to_vec::<u8, u64>(&self.read_buffer(staging).await?));
        }
        let period_ms = self.queue.get_timestamp_period() as f64 / 1e6;
        let mut times: Vec<KernelTime> = Vec::new();
        for (i, kernel) in profile.kernels.into_iter().enumerate() {
            let ms = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period_ms;
            match times.iter_mut().find(|t| t.kernel == kernel) {
                Some(t) => {
                    t.launches += 1;
                    t.total_ms += ms;
                }
                None => times.push(KernelTime { kernel, launches: 1, total_ms: ms }),
            }
        }
        times.sort_by(|a, b| b.total_ms.total_cmp(&a.total_ms));
        Ok(times)
    }
}
