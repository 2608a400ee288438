//! The GPU runtime: adapter choice, the device, tensors in pooled buffers, cached pipelines
//! and async readback. Everything that waits on the GPU is `async`; native code drives it
//! with `pollster`, the browser with its event loop.

mod adapter;
#[cfg(not(target_arch = "wasm32"))]
mod cache_dir;
mod context;
mod driver_cache;
mod pipeline;
mod pool;
mod profile;
mod tensor;
mod timer;
mod timing;

pub use adapter::{list_adapters, AdapterChoice, AdapterSummary};
#[cfg(not(target_arch = "wasm32"))]
pub use cache_dir::{cache_dir, cache_file};
pub use driver_cache::PIPELINE_CACHE_VAR;
pub use context::{DeviceLimits, Gpu, Marker};
pub use profile::KernelTime;
pub use pipeline::{shader_capabilities, Kernel, Shader};
pub use tensor::{DType, Tensor, VIEW_ALIGN};
pub use timer::GpuTimer;
pub use timing::{profile_kernels, take_profile, time_async, time_paired, Timing, TIMESTAMPS, WALL_CLOCK};

/// Workgroup size of every 1-D elementwise kernel.
pub const WG_1D: u32 = 256;

/// Grid for `n` invocations of a 1-D kernel with `WG_1D` threads per group. Large sizes spill
/// into y because WebGPU allows at most 65,535 workgroups per dimension; shaders rebuild the
/// flat index as `(gid.y * num_workgroups.x + gid.x) * WG + lid.x`.
pub fn grid_1d(n: usize) -> [u32; 3] {
    grid_1d_of(n, WG_1D)
}

/// `grid_1d` for a kernel with `wg` threads per group.
pub fn grid_1d_of(n: usize, wg: u32) -> [u32; 3] {
    let groups = n.div_ceil(wg as usize).max(1) as u32;
    let x = groups.min(65_535);
    [x, groups.div_ceil(x), 1]
}

/// An environment variable natively; None in the browser, which has no environment.
pub fn option_env_var(name: &str) -> Option<String> {
    #[cfg(not(target_arch = "wasm32"))]
    return std::env::var(name).ok();
    #[cfg(target_arch = "wasm32")]
    {
        let _ = name;
        None
    }
}
