//! GPU-side timing with timestamp queries: a timestamp is written by an empty compute pass
//! before and after the work, so the interval covers every pass recorded in between, across
//! submissions, as the GPU's own clock saw it.

use super::context::Gpu;
use crate::error::{AerError, Result};

pub struct GpuTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
}

impl GpuTimer {
    /// None when the adapter has no timestamp queries.
    pub fn new(gpu: &Gpu) -> Option<GpuTimer> {
        if !gpu.has_timestamps() {
            return None;
        }
        let queries = gpu.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("aer timer"), ty: wgpu::QueryType::Timestamp, count: 2 });
        let resolve = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("aer timer resolve"),
            size: 16,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(GpuTimer { queries, resolve })
    }

    fn stamp(&self, gpu: &Gpu, index: u32) {
        gpu.with_encoder(|enc| {
            let writes = wgpu::ComputePassTimestampWrites { query_set: &self.queries, beginning_of_pass_write_index: Some(index), end_of_pass_write_index: None };
            drop(enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("aer timestamp"), timestamp_writes: Some(writes) }));
        });
    }

    /// Record the start stamp; work recorded after this is timed.
    pub fn begin(&self, gpu: &Gpu) {
        self.stamp(gpu, 0);
    }

    /// Record the end stamp and return the interval in milliseconds once the GPU is done.
    pub async fn end(&self, gpu: &Gpu) -> Result<f64> {
        self.stamp(gpu, 1);
        let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("aer timer readback"),
            size: 16,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        gpu.with_encoder(|enc| {
            enc.resolve_query_set(&self.queries, 0..2, &self.resolve, 0);
            enc.copy_buffer_to_buffer(&self.resolve, 0, &staging, 0, 16);
        });
        let bytes = gpu.read_buffer(&staging).await?;
        let t: Vec<u64> = bytemuck::pod_collect_to_vec(&bytes);
        let ticks = t[1].checked_sub(t[0]).ok_or_else(|| AerError::Gpu("timestamps ran backwards".into()))?;
        Ok(ticks as f64 * gpu.queue.get_timestamp_period() as f64 / 1e6)
    }
}
