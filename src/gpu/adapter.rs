//! Choosing an adapter by backend and name, and describing adapters for `aer adapters`.

use crate::error::{AerError, Result};
use serde::Serialize;

/// Which adapter to open. Empty fields mean "any"; wgpu's own `WGPU_BACKEND` and
/// `WGPU_ADAPTER_NAME` variables fill them when the caller leaves them unset.
#[derive(Clone, Debug, Default)]
pub struct AdapterChoice {
    /// Case-insensitive substring of the adapter name (e.g. "llvmpipe", "swiftshader"), or the
    /// adapter's number in `aer adapters` (`list_adapters`' order, natively).
    pub name: Option<String>,
    /// One of vulkan, gl, metal, dx12, webgpu.
    pub backend: Option<String>,
}

impl AdapterChoice {
    pub fn from_env() -> Self {
        AdapterChoice {
            name: std::env::var("WGPU_ADAPTER_NAME").ok().filter(|s| !s.is_empty()),
            backend: std::env::var("WGPU_BACKEND").ok().filter(|s| !s.is_empty()),
        }
    }

    /// Explicit values win over the environment.
    pub fn or_env(self) -> Self {
        let env = Self::from_env();
        AdapterChoice { name: self.name.or(env.name), backend: self.backend.or(env.backend) }
    }

    pub fn backends(&self) -> Result<wgpu::Backends> {
        let Some(b) = &self.backend else { return Ok(wgpu::Backends::all()) };
        let mut out = wgpu::Backends::empty();
        for part in b.split(',') {
            out |= match part.trim().to_ascii_lowercase().as_str() {
                "vulkan" | "vk" => wgpu::Backends::VULKAN,
                "gl" | "gles" | "opengl" => wgpu::Backends::GL,
                "metal" | "mtl" => wgpu::Backends::METAL,
                "dx12" | "d3d12" => wgpu::Backends::DX12,
                "webgpu" | "browser" => wgpu::Backends::BROWSER_WEBGPU,
                other => {
                    return Err(AerError::Invalid(format!(
                        "unknown backend '{other}': use one of vulkan, gl, metal, dx12, webgpu"
                    )))
                }
            };
        }
        Ok(out)
    }

    /// The adapter number the name gives, when it is one (e.g. "1").
    pub fn number(&self) -> Option<usize> {
        self.name.as_deref().filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).and_then(|n| n.parse().ok())
    }

    pub fn matches(&self, info: &wgpu::AdapterInfo) -> bool {
        match &self.name {
            Some(n) => info.name.to_lowercase().contains(&n.to_lowercase()),
            None => true,
        }
    }
}

/// What `aer adapters` prints and benchmark files record about an adapter.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct AdapterSummary {
    pub name: String,
    pub vendor: u32,
    pub device: u32,
    pub device_type: String,
    pub backend: String,
    pub driver: String,
    pub driver_info: String,
    pub timestamp_queries: bool,
    pub shader_f16: bool,
    /// Every optional feature, by wgpu's names (of the adapter, or those a device enabled).
    #[serde(default)]
    pub features: Vec<String>,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
}

impl AdapterSummary {
    pub fn new(info: &wgpu::AdapterInfo, features: wgpu::Features, limits: &wgpu::Limits) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            vendor: info.vendor,
            device: info.device,
            device_type: format!("{:?}", info.device_type),
            backend: info.backend.to_string(),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            features: features.iter_names().map(|(name, _)| name.to_string()).collect(),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
        }
    }

    /// A short human-readable block, used by `aer adapters`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {})\n  driver: {} {}\n  vendor 0x{:04x} device 0x{:04x}\n  timestamp queries: {}  shader-f16: {}\n  max storage binding: {} MiB  max buffer: {} MiB  storage buffers/stage: {}\n  workgroup storage: {} KiB  invocations/workgroup: {}  workgroups/dim: {}",
            self.name, self.backend, self.device_type, self.driver, self.driver_info, self.vendor,
            self.device, yes(self.timestamp_queries), yes(self.shader_f16),
            self.max_storage_buffer_binding_size >> 20, self.max_buffer_size >> 20,
            self.max_storage_buffers_per_shader_stage, self.max_compute_workgroup_storage_size >> 10,
            self.max_compute_invocations_per_workgroup, self.max_compute_workgroups_per_dimension,
        )
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(crate) fn instance(choice: &AdapterChoice) -> Result<wgpu::Instance> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = choice.backends()?;
    Ok(wgpu::Instance::new(desc))
}

/// Every adapter wgpu can see with the given backends, described.
pub async fn list_adapters(choice: &AdapterChoice) -> Result<Vec<AdapterSummary>> {
    let inst = instance(choice)?;
    let adapters = inst.enumerate_adapters(choice.backends()?).await;
    Ok(adapters
        .iter()
        .map(|a| AdapterSummary::new(&a.get_info(), a.features(), &a.limits()))
        .collect())
}

/// The adapter to use: the first that matches the choice, preferring real GPUs over CPU ones.
pub(crate) async fn pick_adapter(inst: &wgpu::Instance, choice: &AdapterChoice) -> Result<wgpu::Adapter> {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(i) = choice.number() {
        // By number: the i-th adapter `aer adapters` lists.
        let mut all = inst.enumerate_adapters(choice.backends()?).await;
        let n = all.len();
        if i < n {
            return Ok(all.swap_remove(i));
        }
        let listed = if n == 0 { "none".to_string() } else { format!("{n}, numbered 0 to {}", n - 1) };
        return Err(AerError::Invalid(format!("--adapter {i}: there is no adapter number {i}; `aer adapters` lists {listed} (or give part of a name, e.g. llvmpipe)")));
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let mut adapters: Vec<wgpu::Adapter> = inst
            .enumerate_adapters(choice.backends()?)
            .await
            .into_iter()
            .filter(|a| choice.matches(&a.get_info()))
            .collect();
        let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Cpu => 3,
            wgpu::DeviceType::Other => 4,
        };
        // Vulkan before GL for the same device: it is the better-tested path here.
        let backend_rank = |a: &wgpu::Adapter| (a.get_info().backend != wgpu::Backend::Vulkan) as u8;
        adapters.sort_by_key(|a| (rank(a), backend_rank(a)));
        if let Some(a) = adapters.into_iter().next() {
            return Ok(a);
        }
    }
    #[cfg(target_arch = "wasm32")]
    {
        let opts = wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        };
        if let Ok(a) = inst.request_adapter(&opts).await {
            if choice.matches(&a.get_info()) {
                return Ok(a);
            }
        }
    }
    let mut detail = String::new();
    if let Some(n) = &choice.name {
        detail += &format!(" whose name contains '{n}'");
    }
    if let Some(b) = &choice.backend {
        detail += &format!(" on backend '{b}'");
    }
    Err(AerError::NoAdapter { detail })
}
