//! Mean spectra of a data set: the mean over its images (and channels) of the 2-D DFT
//! magnitude, computed batch by batch on the GPU (`kernels::spectrum`) after an optional
//! transform of each batch.

use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels;

/// Images per spectrum batch.
pub const SPECTRUM_BATCH: usize = 256;

/// The mean spectrum [h, w] of `data` with each batch x [n, c, h, w] first passed through
/// `transform(x, shape, batch index)`.
pub async fn mean_spectrum(gpu: &Gpu, data: &Dataset, transform: &dyn Fn(&Tensor, [usize; 4], usize) -> Tensor) -> Result<Vec<f32>> {
    let [c, h, w] = data.shape;
    let n = data.len();
    let batch = SPECTRUM_BATCH.min(kernels::spectrum_max_planes(h, w, gpu.limits.max_storage_buffer_binding_size) / c).max(1);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let mut parts = Vec::new();
    for (k, start) in (0..n).step_by(batch).enumerate() {
        let len = batch.min(n - start);
        data.gather(&(start as u32..(start + len) as u32).collect::<Vec<_>>(), &mut xs, &mut ys);
        let shape = [len, c, h, w];
        let x = transform(&gpu.upload(&xs, &shape), shape, k);
        let s = gpu.empty(&[h * w]);
        kernels::spectrum(gpu, &x, &s, shape);
        parts.push((len, s));
    }
    let bytes = gpu.read_bytes(&parts.iter().map(|(_, s)| s).collect::<Vec<_>>()).await?;
    // Each batch's mean weighted by its images.
    let mut mean = vec![0f64; h * w];
    for ((len, _), b) in parts.iter().zip(&bytes) {
        for (m, v) in mean.iter_mut().zip(bytemuck::pod_collect_to_vec::<u8, f32>(b)) {
            *m += v as f64 * *len as f64 / n.max(1) as f64;
        }
    }
    Ok(mean.into_iter().map(|v| v as f32).collect())
}
