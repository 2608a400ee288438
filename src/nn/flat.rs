//! The optimized parameters as slices of two buffers, one of values and one of gradients, at
//! the same offsets: the optimizer then updates them all in one launch (see
//! `crate::train::Optimizer`), instead of one launch per tensor.

use super::model::Param;
use crate::gpu::{Gpu, Tensor, VIEW_ALIGN};

/// Where each of `sizes` (elements of 4 bytes) starts in one buffer, every start aligned for
/// binding, and the buffer's length.
pub fn segments(sizes: impl IntoIterator<Item = usize>) -> (Vec<usize>, usize) {
    let align = VIEW_ALIGN as usize / 4;
    let mut end = 0;
    let starts = sizes
        .into_iter()
        .map(|n| {
            let at = end;
            // At least 4 elements: a view binds 16 bytes or more.
            end = (at + n.max(4)).next_multiple_of(align);
            at
        })
        .collect();
    (starts, end)
}

/// Move the optimized parameters' values and gradients into one buffer each (zero between
/// slices), unless together they exceed a binding: then they stay apart, and the optimizer
/// takes them one by one.
pub(super) fn pack(gpu: &Gpu, params: &mut [Param]) {
    let chosen: Vec<usize> = (0..params.len()).filter(|&i| params[i].optimized()).collect();
    let (starts, len) = segments(chosen.iter().map(|&i| params[i].value.numel()));
    if chosen.is_empty() || (len * 4) as u64 > gpu.limits.max_storage_buffer_binding_size {
        return;
    }
    let (values, grads) = (gpu.zeros(&[len]), gpu.zeros(&[len]));
    for (&i, &at) in chosen.iter().zip(&starts) {
        let p = &mut params[i];
        gpu.copy_range(&p.value, 0, &values, at, p.value.numel());
        gpu.copy_range(&p.grad, 0, &grads, at, p.grad.numel());
        p.value = values.view(at, p.value.shape());
        p.grad = grads.view(at, p.grad.shape());
    }
}

/// The buffers of values and gradients, when every optimized parameter is a slice of them at
/// the same offset in both (as `pack` leaves them).
pub fn packed(params: &[Param]) -> Option<(Tensor, Tensor)> {
    let mut chosen = params.iter().filter(|p| p.optimized());
    let first = chosen.next()?;
    let same = |p: &Param| p.value.is_view() && p.value.same_buffer(&first.value) && p.grad.same_buffer(&first.grad) && p.value.offset() == p.grad.offset();
    (same(first) && chosen.all(same)).then(|| (first.value.whole_buffer(), first.grad.whole_buffer()))
}
