//! Compiled compute pipelines, one per (shader, entry point, override values), created once
//! per device and kept (`Pipelines`; the driver's own cache across runs is `DriverCache`).
//! Specialisation uses WGSL `override` constants so naga validates the real
//! shader, never a text template.

use super::driver_cache::DriverCache;
use std::collections::HashMap;

/// A WGSL file from `shaders/`, compiled into the binary.
#[derive(Debug)]
pub struct Shader {
    pub name: &'static str,
    pub source: &'static str,
}

impl Shader {
    /// The naga capabilities the file needs: half precision where it says `enable f16;`
    /// (its pipelines are only created on devices with shader-f16).
    pub fn capabilities(&self) -> naga::valid::Capabilities {
        shader_capabilities(self.source)
    }
}

/// `Shader::capabilities` of a WGSL source.
pub fn shader_capabilities(source: &str) -> naga::valid::Capabilities {
    let mut caps = naga::valid::Capabilities::default();
    if source.lines().any(|l| l.trim() == "enable f16;") {
        caps |= naga::valid::Capabilities::SHADER_FLOAT16;
    }
    caps
}

/// One entry point of a shader.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    pub shader: &'static Shader,
    pub entry: &'static str,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PipelineKey {
    shader: &'static str,
    entry: &'static str,
    overrides: Vec<(&'static str, u64)>,
}

impl PipelineKey {
    pub fn new(k: &Kernel, overrides: &[(&'static str, f64)]) -> Self {
        PipelineKey {
            shader: k.shader.name,
            entry: k.entry,
            overrides: overrides.iter().map(|(n, v)| (*n, v.to_bits())).collect(),
        }
    }
}

pub(crate) struct CompiledKernel {
    pub pipeline: wgpu::ComputePipeline,
    pub layout: wgpu::BindGroupLayout,
    /// Storage/uniform bindings of group 0 that this entry point uses, in binding order.
    pub bindings: Vec<u32>,
}

/// The pipelines a device has built, by key.
#[derive(Default)]
pub(crate) struct Pipelines {
    modules: HashMap<&'static str, (wgpu::ShaderModule, naga::Module, naga::valid::ModuleInfo)>,
    pub compiled: HashMap<PipelineKey, std::sync::Arc<CompiledKernel>>,
    /// Seconds spent building them (shader modules and pipelines: naga, then the driver's
    /// compiler), the first run's extra time.
    pub build_seconds: f64,
}

impl Pipelines {
    /// The pipeline of `k` with `overrides`, built on first use (with the driver's cache where
    /// there is one).
    pub fn get_or_create(
        &mut self,
        device: &wgpu::Device,
        driver_cache: Option<&DriverCache>,
        k: &Kernel,
        overrides: &[(&'static str, f64)],
    ) -> std::sync::Arc<CompiledKernel> {
        let key = PipelineKey::new(k, overrides);
        if let Some(c) = self.compiled.get(&key) {
            return c.clone();
        }
        let started = web_time::Instant::now();
        let (module, naga_module, info) = self.modules.entry(k.shader.name).or_insert_with(|| {
            let (m, i) = validate(k.shader).unwrap_or_else(|e| panic!("{e}"));
            let desc = wgpu::ShaderModuleDescriptor {
                label: Some(k.shader.name),
                source: wgpu::ShaderSource::Wgsl(k.shader.source.into()),
            };
            let sm = device.create_shader_module(desc);
            (sm, m, i)
        });
        let bindings = used_bindings(naga_module, info, k);
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&format!("{}::{}", k.shader.name, k.entry)),
            layout: None,
            module,
            entry_point: Some(k.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: overrides,
                zero_initialize_workgroup_memory: false,
            },
            cache: driver_cache.map(|c| &c.cache),
        });
        if let Some(c) = driver_cache {
            c.note_created();
        }
        let layout = pipeline.get_bind_group_layout(0);
        let c = std::sync::Arc::new(CompiledKernel { pipeline, layout, bindings });
        self.compiled.insert(key, c.clone());
        let seconds = started.elapsed().as_secs_f64();
        self.build_seconds += seconds;
        log::debug!("built {}::{} {overrides:?} in {:.0} ms", k.shader.name, k.entry, 1e3 * seconds);
        c
    }
}

/// Parse and validate a shader with naga: the same check the kernel tests run on every file.
pub fn validate(shader: &Shader) -> Result<(naga::Module, naga::valid::ModuleInfo), String> {
    let module = naga::front::wgsl::parse_str(shader.source)
        .map_err(|e| format!("shaders/{}.wgsl: {}", shader.name, e.emit_to_string(shader.source)))?;
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), shader.capabilities())
        .validate(&module)
        .map_err(|e| format!("shaders/{}.wgsl: {}", shader.name, e.emit_to_string(shader.source)))?;
    Ok((module, info))
}

fn used_bindings(module: &naga::Module, info: &naga::valid::ModuleInfo, k: &Kernel) -> Vec<u32> {
    let ep = module
        .entry_points
        .iter()
        .position(|e| e.name == k.entry)
        .unwrap_or_else(|| panic!("shaders/{}.wgsl has no entry point '{}'", k.shader.name, k.entry));
    let fi = info.get_entry_point(ep);
    let mut out: Vec<u32> = module
        .global_variables
        .iter()
        .filter(|(h, _)| !fi[*h].is_empty())
        .filter_map(|(_, g)| g.binding.as_ref().map(|b| b.binding))
        .collect();
    out.sort();
    out
}
