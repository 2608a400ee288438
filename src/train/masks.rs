//! Pruning masks as training keeps them: a masked weight, its gradient and its optimizer
//! state stay zero. The masks themselves are the model's (`nn::Param::mask`); how they are
//! chosen is `crate::sparse`'s.

use super::Optimizer;
use crate::gpu::Gpu;
use crate::nn::Model;

/// Set masks from values (e.g. a checkpoint's `mask.<param>` tensors) and apply them.
pub fn set_masks(gpu: &Gpu, model: &mut Model, opt: Option<&Optimizer>, masks: &std::collections::HashMap<String, Vec<f32>>) {
    for p in model.params.iter_mut() {
        if let Some(m) = masks.get(&p.name) {
            p.mask = Some(gpu.upload(m, p.value.shape()));
        }
    }
    apply_masks(gpu, model, opt);
}

/// Zero pruned weights, their gradients and their optimizer state.
pub fn apply_masks(gpu: &Gpu, model: &Model, opt: Option<&Optimizer>) {
    for (i, p) in model.params.iter().enumerate() {
        if let Some(m) = &p.mask {
            crate::kernels::apply_mask(gpu, m, &p.value);
            crate::kernels::apply_mask(gpu, m, &p.grad);
            for s in opt.map(|o| &o.state[i][..]).unwrap_or(&[]) {
                crate::kernels::apply_mask(gpu, m, s);
            }
        }
    }
}
