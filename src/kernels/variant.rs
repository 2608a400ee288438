//! Choosing between a kernel's variants for an adapter: CPU adapters (which run a SIMD
//! group's loads lane by lane) get one, GPUs the other, and an environment variable may force
//! either.

use crate::gpu::Gpu;

/// `cpu` on CPU adapters, `other` elsewhere, unless the environment variable `env` names one
/// of `named` (name, variant).
pub(super) fn for_adapter<T: Copy>(gpu: &Gpu, env: &str, named: &[(&str, T)], cpu: T, other: T) -> T {
    let forced = crate::gpu::option_env_var(env).and_then(|v| named.iter().find(|(name, _)| *name == v).map(|&(_, t)| t));
    forced.unwrap_or(if gpu.info.device_type == wgpu::DeviceType::Cpu { cpu } else { other })
}
