//! The device: opens an adapter, records kernel launches into one pending command encoder,
//! and reads results back asynchronously.

use super::adapter::{instance, pick_adapter, AdapterChoice, AdapterSummary};
use super::driver_cache::DriverCache;
use super::pipeline::{Kernel, Pipelines};
use super::pool::BufferPool;
use super::profile::Profile;
use super::tensor::{DType, Tensor};
use crate::error::{AerError, Result};
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// Launches recorded before the encoder is submitted on its own; keeps the GPU fed while the
/// CPU records the rest of a step.
const LAUNCHES_PER_SUBMIT: usize = 64;

/// Which limits a device is opened with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceLimits {
    /// Everything the adapter offers.
    Adapter,
    /// WebGPU's defaults, which every WebGPU adapter supports (128 MiB storage bindings,
    /// 16 KiB workgroup storage, 256 invocations per workgroup, 8 storage buffers per stage):
    /// what a page can count on.
    WebGpuDefaults,
}

/// One device and queue. It may be shared between threads (the tests do): launches from
/// several threads go into one pending encoder and are submitted in recording order, so each
/// thread's own work stays in order.
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub features: wgpu::Features,
    /// The device's limits: what kernels may use.
    pub limits: wgpu::Limits,
    /// What the adapter offers (at least `limits`).
    pub adapter_limits: wgpu::Limits,
    pipelines: Mutex<Pipelines>,
    /// The driver's compiled pipelines from earlier runs, saved again when the device closes.
    driver_cache: Option<DriverCache>,
    pool: Arc<BufferPool>,
    pending: Mutex<Option<(wgpu::CommandEncoder, usize)>>,
    /// Open while launches are being profiled (`begin_profile`).
    pub(super) profile: Mutex<Option<Profile>>,
}

impl Gpu {
    /// Open the adapter the choice names (or the best one found), with every limit it offers
    /// and timestamp queries where it has them.
    pub async fn new(choice: &AdapterChoice) -> Result<Gpu> {
        Self::open(choice, DeviceLimits::Adapter).await
    }

    /// `new`, with the device's limits chosen.
    pub async fn open(choice: &AdapterChoice, which: DeviceLimits) -> Result<Gpu> {
        let inst = instance(choice)?;
        let adapter = pick_adapter(&inst, choice).await?;
        let info = adapter.get_info();
        let wanted = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F16;
        let features = adapter.features() & wanted;
        let adapter_limits = adapter.limits();
        let limits = match which {
            DeviceLimits::Adapter => adapter_limits.clone(),
            DeviceLimits::WebGpuDefaults => wgpu::Limits::default(),
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("aer"),
                required_features: features | DriverCache::feature(adapter.features()),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| AerError::Device { adapter: info.name.clone(), reason: e.to_string() })?;
        let driver_cache = DriverCache::open(&device, &info, device.features()).await;
        Ok(Gpu {
            device,
            queue,
            info,
            features,
            limits,
            adapter_limits,
            pipelines: Mutex::new(Pipelines::default()),
            driver_cache,
            pool: Arc::new(BufferPool::new()),
            pending: Mutex::new(None),
            profile: Mutex::new(None),
        })
    }

    /// How many pipelines this device has built, and the seconds that took (on a driver that
    /// compiles on first use, most of a first run's extra time).
    pub fn pipelines_built(&self) -> (usize, f64) {
        let p = self.pipelines.lock().unwrap();
        (p.compiled.len(), p.build_seconds)
    }

    /// Write the driver's compiled pipelines to the cache directory now, if new ones were built
    /// since it was read (dropping the device does this too).
    pub fn save_pipeline_cache(&self) {
        if let Some(c) = &self.driver_cache {
            c.save();
        }
    }

    /// The adapter with the device's features and limits.
    pub fn summary(&self) -> AdapterSummary {
        AdapterSummary::new(&self.info, self.features, &self.limits)
    }

    /// The adapter with the limits it offers.
    pub fn adapter_summary(&self) -> AdapterSummary {
        AdapterSummary::new(&self.info, self.features, &self.adapter_limits)
    }

    /// "name (backend)", the way results and logs name the adapter.
    pub fn adapter_label(&self) -> String {
        format!("{} ({})", self.info.name, self.info.backend)
    }

    /// The device has shader-f16: kernels may compute in half precision.
    pub fn has_f16(&self) -> bool {
        self.features.contains(wgpu::Features::SHADER_F16)
    }

    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    // ---- tensors -------------------------------------------------------------------------

    /// A tensor with undefined contents, for outputs that a kernel overwrites entirely.
    pub fn empty(&self, shape: &[usize]) -> Tensor {
        self.alloc(shape, DType::F32)
    }

    pub fn empty_u32(&self, shape: &[usize]) -> Tensor {
        self.alloc(shape, DType::U32)
    }

    /// Half-precision values (see `has_f16`).
    pub fn empty_f16(&self, shape: &[usize]) -> Tensor {
        self.alloc(shape, DType::F16)
    }

    pub fn zeros(&self, shape: &[usize]) -> Tensor {
        let t = self.empty(shape);
        self.fill_zero(&t);
        t
    }

    pub fn zeros_u32(&self, shape: &[usize]) -> Tensor {
        let t = self.empty_u32(shape);
        self.fill_zero(&t);
        t
    }

    pub fn fill_zero(&self, t: &Tensor) {
        match t.is_view() {
            true => self.with_encoder(|enc| enc.clear_buffer(t.buffer(), t.offset(), Some(t.bytes()))),
            false => self.with_encoder(|enc| enc.clear_buffer(t.buffer(), 0, None)),
        };
    }

    pub fn upload(&self, data: &[f32], shape: &[usize]) -> Tensor {
        assert_eq!(data.len(), shape.iter().product::<usize>(), "upload: data does not fill shape {shape:?}");
        let t = self.empty(shape);
        self.write(&t, data);
        t
    }

    pub fn upload_u32(&self, data: &[u32], shape: &[usize]) -> Tensor {
        assert_eq!(data.len(), shape.iter().product::<usize>(), "upload: data does not fill shape {shape:?}");
        let t = self.empty_u32(shape);
        self.write(&t, data);
        t
    }

    /// Overwrite a tensor from the CPU. Launches recorded so far are submitted first: a queue
    /// write lands before the next submission, so a buffer that pending work still reads
    /// (possibly one just returned to the pool) must not change under it.
    pub fn write<T: bytemuck::Pod>(&self, t: &Tensor, data: &[T]) {
        let bytes: &[u8] = bytemuck::cast_slice(data);
        let room = if t.is_view() { t.binding_size() } else { t.buffer().size() };
        assert!(bytes.len() as u64 <= room, "write: {} bytes into a {room}-byte tensor", bytes.len());
        self.flush();
        if !bytes.is_empty() {
            self.queue.write_buffer(t.buffer(), t.offset(), bytes);
        }
    }

    pub fn copy(&self, src: &Tensor, dst: &Tensor) {
        assert_eq!(src.numel(), dst.numel(), "copy: sizes differ");
        self.with_encoder(|enc| enc.copy_buffer_to_buffer(src.buffer(), src.offset(), dst.buffer(), dst.offset(), src.bytes()));
    }

    /// A new tensor holding a copy of `t` (same shape and dtype).
    pub fn duplicate(&self, t: &Tensor) -> Tensor {
        let c = self.alloc(t.shape(), t.dtype());
        self.copy(t, &c);
        c
    }

    /// Copy `n` elements from `src[src_at..]` to `dst[dst_at..]` (4-byte elements).
    pub fn copy_range(&self, src: &Tensor, src_at: usize, dst: &Tensor, dst_at: usize, n: usize) {
        assert!(src_at + n <= src.numel() && dst_at + n <= dst.numel(), "copy_range: out of bounds");
        if n > 0 {
            self.with_encoder(|enc| enc.copy_buffer_to_buffer(src.buffer(), src.offset() + src_at as u64 * 4, dst.buffer(), dst.offset() + dst_at as u64 * 4, n as u64 * 4));
        }
    }

    /// A tensor filled with one value (uploaded; for small per-example vectors).
    pub fn full(&self, shape: &[usize], value: f32) -> Tensor {
        self.upload(&vec![value; shape.iter().product()], shape)
    }

    fn alloc(&self, shape: &[usize], dtype: DType) -> Tensor {
        let bytes = super::tensor::buffer_bytes(shape.iter().product(), dtype);
        assert!(
            bytes <= self.limits.max_storage_buffer_binding_size,
            "tensor {shape:?} needs {bytes} bytes, above this adapter's storage binding limit of {}",
            self.limits.max_storage_buffer_binding_size
        );
        Tensor::new(self.pool.take(&self.device, bytes), shape.to_vec(), dtype, self.pool.clone())
    }

    /// Bytes of GPU memory parked in the pool for reuse.
    pub fn pooled_bytes(&self) -> u64 {
        self.pool.free_bytes()
    }

    // ---- launches ------------------------------------------------------------------------

    /// Record one dispatch. `params` goes to binding 0 (a uniform); `tensors[i]` to binding
    /// i + 1. Bindings the entry point does not use are skipped, so every entry of a shader
    /// file can share one binding list.
    pub fn launch<P: bytemuck::Pod>(
        &self,
        kernel: &Kernel,
        overrides: &[(&'static str, f64)],
        params: &P,
        tensors: &[&Tensor],
        groups: [u32; 3],
    ) {
        if groups.contains(&0) {
            return;
        }
        let max = self.limits.max_compute_workgroups_per_dimension;
        assert!(
            groups.iter().all(|&g| g <= max),
            "{}::{}: grid {groups:?} exceeds {max} workgroups per dimension",
            kernel.shader.name,
            kernel.entry
        );
        let compiled = self.pipelines.lock().unwrap().get_or_create(&self.device, self.driver_cache.as_ref(), kernel, overrides);
        let uniform = compiled.bindings.contains(&0).then(|| {
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("aer params"),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            })
        });
        let entries: Vec<wgpu::BindGroupEntry> = compiled
            .bindings
            .iter()
            .map(|&b| {
                let resource = if b == 0 {
                    uniform.as_ref().unwrap().as_entire_binding()
                } else {
                    let t = tensors.get(b as usize - 1).unwrap_or_else(|| {
                        panic!("{}::{} uses binding {b} but only {} tensors were passed", kernel.shader.name, kernel.entry, tensors.len())
                    });
                    match t.is_view() {
                        true => wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: t.buffer(), offset: t.offset(), size: std::num::NonZeroU64::new(t.binding_size()) }),
                        false => t.buffer().as_entire_binding(),
                    }
                };
                wgpu::BindGroupEntry { binding: b, resource }
            })
            .collect();
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &compiled.layout,
            entries: &entries,
        });
        let mut profile = self.profile.lock().unwrap();
        let timestamp_writes = profile.as_mut().map(|p| {
            let name = format!("{}::{}", kernel.shader.name, kernel.entry);
            let label = if overrides.is_empty() {
                name
            } else {
                format!("{name}({})", overrides.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
            };
            p.next_pass(&self.device, label)
        });
        let full = self.with_encoder(|enc| {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(kernel.entry), timestamp_writes });
            pass.set_pipeline(&compiled.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }) >= LAUNCHES_PER_SUBMIT;
        drop(profile);
        if full {
            self.flush();
        }
    }

    /// Run `f` on the pending encoder; returns how many commands it now holds.
    pub fn with_encoder(&self, f: impl FnOnce(&mut wgpu::CommandEncoder)) -> usize {
        let mut pending = self.pending.lock().unwrap();
        let (enc, n) = pending.get_or_insert_with(|| {
            (self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("aer") }), 0)
        });
        f(enc);
        *n += 1;
        *n
    }

    /// Submit everything recorded so far. Does not wait.
    pub fn flush(&self) -> wgpu::SubmissionIndex {
        // Submit under the lock: otherwise two threads could submit out of recording order.
        let mut pending = self.pending.lock().unwrap();
        match pending.take() {
            Some((enc, _)) => self.queue.submit(Some(enc.finish())),
            None => self.queue.submit(None),
        }
    }

    // ---- readback ------------------------------------------------------------------------

    /// Wait for all submitted work. Native only: the browser cannot block.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_idle(&self) {
        self.flush();
        let _ = self.device.poll(wgpu::PollType::wait_indefinitely());
    }

    pub async fn read_f32(&self, t: &Tensor) -> Result<Vec<f32>> {
        Ok(bytemuck::pod_collect_to_vec(&self.read_bytes(&[t]).await?[0]))
    }

    pub async fn read_u32(&self, t: &Tensor) -> Result<Vec<u32>> {
        Ok(bytemuck::pod_collect_to_vec(&self.read_bytes(&[t]).await?[0]))
    }

    /// A half-precision tensor's values, widened to f32.
    pub async fn read_f16(&self, t: &Tensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(&[t]).await?.remove(0);
        Ok(bytes.chunks_exact(2).take(t.numel()).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect())
    }

    /// Copy several tensors back in one submission and one wait.
    pub async fn read_bytes(&self, ts: &[&Tensor]) -> Result<Vec<Vec<u8>>> {
        let stagings: Vec<wgpu::Buffer> = ts
            .iter()
            .map(|t| {
                let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("aer readback"),
                    size: t.bytes().max(4),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                if t.bytes() > 0 {
                    self.with_encoder(|enc| enc.copy_buffer_to_buffer(t.buffer(), t.offset(), &staging, 0, t.bytes()));
                }
                staging
            })
            .collect();
        self.map_all(&stagings, &ts.iter().map(|t| t.bytes() as usize).collect::<Vec<_>>()).await
    }

    /// Submit pending work, then map a MAP_READ buffer that it fills and copy it out.
    pub(crate) async fn read_buffer(&self, staging: &wgpu::Buffer) -> Result<Vec<u8>> {
        Ok(self.map_all(std::slice::from_ref(staging), &[staging.size() as usize]).await?.remove(0))
    }

    async fn map_all(&self, stagings: &[wgpu::Buffer], lens: &[usize]) -> Result<Vec<Vec<u8>>> {
        self.flush();
        let mut receivers = Vec::new();
        for s in stagings {
            let (tx, rx) = futures_channel::oneshot::channel();
            s.slice(..).map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
            receivers.push(rx);
        }
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| AerError::Gpu(format!("waiting for the device: {e}")))?;
        let mut out = Vec::new();
        for ((rx, s), &len) in receivers.into_iter().zip(stagings).zip(lens) {
            rx.await
                .map_err(|_| AerError::Gpu("readback was cancelled".into()))?
                .map_err(|e| AerError::Gpu(format!("mapping a readback buffer: {e}")))?;
            let bytes = {
                let view = s.slice(..).get_mapped_range().map_err(|e| AerError::Gpu(format!("{e:?}")))?;
                view[..len].to_vec()
            };
            s.unmap();
            out.push(bytes);
        }
        Ok(out)
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        self.save_pipeline_cache();
    }
}

/// A point in the submission stream that can be awaited without reading anything back. The
/// training loop keeps a couple of batches in flight and waits on older markers, so the
/// progress bar tracks the GPU and the queue stays bounded.
pub struct Marker {
    #[cfg(not(target_arch = "wasm32"))]
    index: wgpu::SubmissionIndex,
    #[cfg(target_arch = "wasm32")]
    done: futures_channel::oneshot::Receiver<()>,
}

impl Gpu {
    /// Submit pending work and return a marker for it.
    pub fn marker(&self) -> Marker {
        let index = self.flush();
        #[cfg(not(target_arch = "wasm32"))]
        return Marker { index };
        #[cfg(target_arch = "wasm32")]
        {
            let _ = index;
            let (tx, rx) = futures_channel::oneshot::channel();
            self.queue.on_submitted_work_done(move || {
                let _ = tx.send(());
            });
            Marker { done: rx }
        }
    }

    /// Resolve once the work before `m` has finished on the GPU.
    pub async fn reached(&self, m: Marker) -> Result<()> {
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait { submission_index: Some(m.index), timeout: None })
            .map_err(|e| AerError::Gpu(format!("waiting for the device: {e}")))?;
        #[cfg(target_arch = "wasm32")]
        m.done.await.map_err(|_| AerError::Gpu("device lost while waiting".into()))?;
        Ok(())
    }
}
