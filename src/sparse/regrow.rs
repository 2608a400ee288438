//! Prune-and-regrow, the mask update of dynamic sparse training: per weight tensor, drop the
//! `n` active weights of smallest magnitude and activate `n` inactive ones: those with the
//! largest gradient magnitude (RigL, Evci et al. 2020) or random ones (SET, Mocanu et al.
//! 2018). Grown weights start at zero, and the number of active weights stays the same.

use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::kernels::{self, Candidates};
use crate::nn::Model;
use crate::train::Optimizer;
use rand::{Rng, SeedableRng};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grow {
    /// Largest |gradient| (RigL): the gradient of the dense loss at the inactive positions.
    Gradient,
    /// Uniformly at random (SET), seeded.
    Random(u64),
}

/// Drop `fraction` of each masked tensor's active weights and regrow as many. For
/// `Grow::Gradient` the gradients must be the dense ones: run the backward pass before with
/// `model.dense_gradients` set. Afterwards gradients are masked by the new masks, so an
/// optimizer step may follow. Reads each mask back once to count it.
pub async fn prune_and_regrow(gpu: &Gpu, model: &Model, opt: Option<&Optimizer>, fraction: f64, grow: Grow) -> Result<()> {
    if !(0.0..=1.0).contains(&fraction) {
        return Err(AerError::Invalid(format!("regrow fraction {fraction} is not in [0, 1]")));
    }
    for (i, p) in model.params.iter().enumerate() {
        let Some(mask) = &p.mask else { continue };
        let n = p.value.numel();
        let active = gpu.read_f32(mask).await?.iter().filter(|&&m| m != 0.0).count();
        let moved = ((fraction * active as f64).round() as usize).min(active).min(n - active);
        if moved == 0 {
            continue;
        }
        // Keep the largest active weights.
        let keys = gpu.empty_u32(&[n]);
        kernels::magnitude_keys(gpu, &p.value, &keys);
        kernels::restrict_keys(gpu, &keys, mask, Candidates::Active);
        let keep = gpu.empty(p.value.shape());
        kernels::select_top_k(gpu, &keys, active - moved, &keep);
        // Grow among the inactive ones.
        let grow_keys = match grow {
            Grow::Gradient => {
                let k = gpu.empty_u32(&[n]);
                kernels::magnitude_keys(gpu, &p.grad, &k);
                k
            }
            Grow::Random(seed) => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let v: Vec<u32> = (0..n).map(|_| rng.random_range(1..=u32::MAX)).collect();
                gpu.upload_u32(&v, &[n])
            }
        };
        kernels::restrict_keys(gpu, &grow_keys, mask, Candidates::Inactive);
        let grown = gpu.empty(p.value.shape());
        kernels::select_top_k(gpu, &grow_keys, moved, &grown);
        // New mask = kept | grown. Dropped weights become zero; grown ones already are.
        kernels::mask_union(gpu, &grown, &keep);
        gpu.copy(&keep, mask);
        kernels::apply_mask(gpu, mask, &p.value);
        kernels::apply_mask(gpu, mask, &p.grad);
        for s in opt.map(|o| &o.state[i][..]).unwrap_or(&[]) {
            kernels::apply_mask(gpu, mask, s);
        }
    }
    Ok(())
}
