//! The driver's compiled pipelines, kept between runs: Mesa and other drivers compile every
//! pipeline on its first use (seconds each on a CPU adapter), and wgpu's pipeline cache hands
//! that work back to the driver on the next run. One file per adapter in the cache directory,
//! read when the device opens, written (atomically) when it closes if new pipelines were built.
//! Only where the backend has one (Vulkan); never in the browser. `AER_PIPELINE_CACHE=0`
//! turns it off.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Turns the cache off when set to 0.
pub const PIPELINE_CACHE_VAR: &str = "AER_PIPELINE_CACHE";

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) struct DriverCache {
    pub cache: wgpu::PipelineCache,
    path: PathBuf,
    /// Pipelines created with it since it was read: nothing is written when none were.
    created: AtomicUsize,
}

/// wgpu's cache files start with a 64-byte header: this magic (wgpu-core's
/// `pipeline_cache::MAGIC`), versions, adapter and driver keys, then the length of the data
/// that follows as a big-endian u64 at byte 48. wgpu starts afresh, silently, from a file that
/// fails these checks; checking them here as well lets the run say so.
#[cfg(not(target_arch = "wasm32"))]
fn is_whole(data: &[u8]) -> bool {
    const MAGIC: &[u8] = b"WGPUPLCH";
    data.len() >= 64 && data.starts_with(MAGIC) && data[48..56].try_into().map(u64::from_be_bytes).is_ok_and(|n| n == (data.len() - 64) as u64)
}

impl DriverCache {
    /// The feature to ask the device for: the pipeline cache where the adapter has it, unless
    /// turned off.
    pub fn feature(adapter_features: wgpu::Features) -> wgpu::Features {
        let off = super::option_env_var(PIPELINE_CACHE_VAR).is_some_and(|v| v == "0");
        if cfg!(target_arch = "wasm32") || off {
            wgpu::Features::empty()
        } else {
            adapter_features & wgpu::Features::PIPELINE_CACHE
        }
    }

    /// The cache file of this adapter, read if present. A file that is not a cache for this
    /// adapter and driver (corrupt, truncated, another device's, an older driver's) is ignored
    /// with a warning and replaced when the device closes.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo, features: wgpu::Features) -> Option<DriverCache> {
        if !features.contains(wgpu::Features::PIPELINE_CACHE) {
            return None;
        }
        let key = wgpu::util::pipeline_cache_key(info)?;
        let path = super::cache_dir::cache_file("pipelines", &format!("{} {} {key}", info.name, info.backend), "bin")?;
        let mut data = std::fs::read(&path).ok();
        if data.as_ref().is_some_and(|d| !is_whole(d)) {
            log::warn!("ignoring {}: not a whole pipeline cache (corrupt or cut short); it will be rebuilt", path.display());
            data = None;
        }
        let make = |data: Option<&[u8]>| {
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            // SAFETY: wgpu checks the data's header (magic, version, adapter, driver key) and
            // its length before the driver sees it; `fallback` starts empty where it is stale.
            let cache = unsafe { device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor { label: Some("aer pipelines"), data, fallback: true }) };
            (cache, scope.pop())
        };
        let (mut cache, error) = make(data.as_deref());
        if let Some(e) = error.await {
            log::warn!("ignoring {}: {e}; it will be rebuilt", path.display());
            let (fresh, error) = make(None);
            if let Some(e) = error.await {
                log::warn!("no pipeline cache: {e}");
                return None;
            }
            cache = fresh;
        } else if let Some(d) = &data {
            log::info!("pipeline cache: read {} ({} KiB)", path.display(), d.len() / 1024);
        }
        Some(DriverCache { cache, path, created: AtomicUsize::new(0) })
    }

    #[cfg(target_arch = "wasm32")]
    pub async fn open(_: &wgpu::Device, _: &wgpu::AdapterInfo, _: wgpu::Features) -> Option<DriverCache> {
        None
    }

    /// Count a pipeline created with the cache.
    pub fn note_created(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
    }

    /// Write the cache if pipelines were created since it was read (or last written): through
    /// a temp file renamed into place, so a reader never sees half a file. A failure is only
    /// a warning: the next run compiles again.
    pub fn save(&self) {
        #[cfg(not(target_arch = "wasm32"))]
        {
            if self.created.swap(0, Ordering::Relaxed) == 0 {
                return;
            }
            let Some(data) = self.cache.get_data() else { return };
            // A temp file of its own: two devices of one process may save at once.
            static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let tmp = self.path.with_extension(format!("tmp{}-{}", std::process::id(), SAVES.fetch_add(1, Ordering::Relaxed)));
            let written = self.path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|_| std::fs::write(&tmp, &data)).and_then(|_| std::fs::rename(&tmp, &self.path));
            match written {
                Ok(()) => log::info!("pipeline cache: wrote {} ({} KiB)", self.path.display(), data.len() / 1024),
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    log::warn!("could not write the pipeline cache {}: {e}", self.path.display());
                }
            }
        }
    }
}
