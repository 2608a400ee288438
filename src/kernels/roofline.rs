use super::shaders::ROOFLINE;
use crate::gpu::{grid_1d_of, Gpu, Kernel, Tensor};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    iters: u32,
    _pad: [u32; 2],
}

const FMA_PEAK: Kernel = Kernel { shader: &ROOFLINE, entry: "fma_peak" };
const STREAM_COPY: Kernel = Kernel { shader: &ROOFLINE, entry: "stream_copy" };

/// Steps one `fma_peak` invocation may loop over: llvmpipe ends an invocation after 65,535
/// loop iterations.
pub const FMA_MAX_ITERS: usize = 65_535;

/// Flops `fma_peak` computes on `n` values (n / 4 invocations of 8 vec4 chains) over `iters` steps.
pub fn fma_peak_flops(n: usize, iters: usize) -> f64 {
    (n / 4) as f64 * iters as f64 * 64.0
}

/// y[i] = the sum of eight fma chains from x[i] (see `shaders/roofline.wgsl`): the
/// arithmetic-bound half of the roofline. x and y hold n values, n a multiple of 4.
pub fn fma_peak(gpu: &Gpu, x: &Tensor, y: &Tensor, iters: usize) {
    let n = x.numel();
    assert!(n.is_multiple_of(4) && y.numel() >= n, "fma_peak: {n} values, need a multiple of 4 and y as long");
    assert!(iters <= FMA_MAX_ITERS, "fma_peak: {iters} steps exceed {FMA_MAX_ITERS}");
    let params = Params { n: (n / 4) as u32, iters: iters as u32, _pad: [0; 2] };
    gpu.launch(&FMA_PEAK, &[], &params, &[x, y], grid_1d_of(n / 4, 64));
}

/// y = x, as vec4 (n a multiple of 4): the memory-bound half of the roofline, 2 x 4 n bytes.
pub fn stream_copy(gpu: &Gpu, x: &Tensor, y: &Tensor) {
    let n = x.numel();
    assert!(n.is_multiple_of(4) && y.numel() >= n, "stream_copy: {n} values, need a multiple of 4 and y as long");
    let params = Params { n: (n / 4) as u32, iters: 0, _pad: [0; 2] };
    gpu.launch(&STREAM_COPY, &[], &params, &[x, y], grid_1d_of(n / 4, 64));
}
