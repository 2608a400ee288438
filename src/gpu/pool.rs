//! A pool of storage buffers keyed by byte size. Training allocates the same shapes every
//! step, so after the first step no buffer is created at all.

use std::collections::HashMap;
use std::sync::Mutex;

pub(crate) struct BufferPool {
    free: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
}

// UNIFORM too: a kernel may read a small tensor every invocation reads alike as a uniform
// array (conv_direct's packed weights).
pub(crate) const STORAGE_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::UNIFORM)
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl BufferPool {
    pub fn new() -> Self {
        BufferPool { free: Mutex::new(HashMap::new()) }
    }

    /// A buffer of exactly `bytes` bytes (rounded up to 4), reused when one is free.
    /// Returns whether it was reused: a reused buffer holds stale data.
    pub fn take(&self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        // At least 16 bytes: any buffer may be viewed as an array of vec4 (one element minimum).
        let bytes = bytes.max(16).next_multiple_of(4);
        if let Some(b) = self.free.lock().unwrap().get_mut(&bytes).and_then(|v| v.pop()) {
            return b;
        }
        device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("aer tensor"),
            size: bytes,
            usage: STORAGE_USAGE,
            mapped_at_creation: false,
        })
    }

    pub fn give(&self, buffer: wgpu::Buffer) {
        self.free.lock().unwrap().entry(buffer.size()).or_default().push(buffer);
    }

    /// Bytes held by free buffers (for memory reports).
    pub fn free_bytes(&self) -> u64 {
        self.free.lock().unwrap().iter().map(|(k, v)| k * v.len() as u64).sum()
    }
}
