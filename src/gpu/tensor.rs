//! A tensor is a shape over a pooled GPU buffer. Cloning shares the buffer (a handle, as with
//! a view); when the last handle drops, the buffer goes back to the pool.

use super::pool::BufferPool;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    U32,
    /// Half precision (shader-f16 adapters only), two values per 32-bit word.
    F16,
}

impl DType {
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::U32 => 4,
            DType::F16 => 2,
        }
    }
}

/// Bytes of a buffer holding `n` values: buffers and copies come in whole 32-bit words.
pub(crate) fn buffer_bytes(n: usize, dtype: DType) -> u64 {
    (n * dtype.size()).next_multiple_of(4) as u64
}

struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    pool: Arc<BufferPool>,
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.pool.give(b);
        }
    }
}

#[derive(Clone)]
pub struct Tensor {
    buf: Arc<PooledBuffer>,
    shape: Vec<usize>,
    dtype: DType,
}

impl Tensor {
    pub(crate) fn new(buffer: wgpu::Buffer, shape: Vec<usize>, dtype: DType, pool: Arc<BufferPool>) -> Self {
        Tensor { buf: Arc::new(PooledBuffer { buffer: Some(buffer), pool }), shape, dtype }
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        self.buf.buffer.as_ref().expect("tensor buffer present until drop")
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn bytes(&self) -> u64 {
        buffer_bytes(self.numel(), self.dtype)
    }

    /// The same elements under another shape (flatten is exactly this in NCHW).
    pub fn reshape(mut self, shape: &[usize]) -> Tensor {
        assert_eq!(shape.iter().product::<usize>(), self.numel(), "reshape {:?} -> {:?}", self.shape, shape);
        self.shape = shape.to_vec();
        self
    }

    pub fn rows_cols(&self) -> (usize, usize) {
        let cols = *self.shape.last().unwrap_or(&1);
        (self.numel() / cols.max(1), cols)
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}<{:?}>", self.shape, self.dtype)
    }
}
