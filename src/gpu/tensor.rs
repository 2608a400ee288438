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
    /// Where a view (`view`) starts in the buffer, in bytes; None for the whole buffer.
    offset: Option<u64>,
}

/// Bytes a view's start is aligned to: storage and uniform bindings may start only at
/// multiples of 256 bytes (WebGPU's default alignment).
pub const VIEW_ALIGN: u64 = 256;

impl Tensor {
    pub(crate) fn new(buffer: wgpu::Buffer, shape: Vec<usize>, dtype: DType, pool: Arc<BufferPool>) -> Self {
        Tensor { buf: Arc::new(PooledBuffer { buffer: Some(buffer), pool }), shape, dtype, offset: None }
    }

    /// The elements from `at` on of this tensor's buffer as a tensor of `shape`, sharing the
    /// buffer (e.g. parameters as slices of one buffer, for one optimizer launch over all of
    /// them). `at` must fall on a multiple of `VIEW_ALIGN` bytes, and the view (at least 16
    /// bytes, as any buffer) must fit in the buffer.
    pub fn view(&self, at: usize, shape: &[usize]) -> Tensor {
        let start = self.offset() + (at * self.dtype.size()) as u64;
        let t = Tensor { buf: self.buf.clone(), shape: shape.to_vec(), dtype: self.dtype, offset: Some(start) };
        assert!(start % VIEW_ALIGN == 0, "view at byte {start}: not a multiple of {VIEW_ALIGN}");
        assert!(start + t.binding_size() <= self.buffer().size(), "view of {shape:?} at byte {start} overruns a {}-byte buffer", self.buffer().size());
        t
    }

    /// The whole buffer under this tensor (a view's too), as a flat tensor.
    pub fn whole_buffer(&self) -> Tensor {
        let n = self.buffer().size() as usize / self.dtype.size();
        Tensor { buf: self.buf.clone(), shape: vec![n], dtype: self.dtype, offset: None }
    }

    /// Where this tensor starts in its buffer, in bytes (0 unless a view).
    pub fn offset(&self) -> u64 {
        self.offset.unwrap_or(0)
    }

    /// A view of part of a buffer, rather than a whole buffer.
    pub fn is_view(&self) -> bool {
        self.offset.is_some()
    }

    /// Both tensors lie in the same buffer.
    pub fn same_buffer(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf)
    }

    /// Bytes a kernel's binding of a view covers: whole words, at least 16 (any buffer may be
    /// read as vec4s).
    pub(crate) fn binding_size(&self) -> u64 {
        self.bytes().max(16)
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
