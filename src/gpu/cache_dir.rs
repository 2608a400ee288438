//! The per-user cache directory: $AER_CACHE_DIR, else $XDG_CACHE_HOME/aer, else ~/.cache/aer.
//! Measured tables (`crate::kernels::tune`) and the driver's compiled pipelines
//! (`super::driver_cache`) live there, one file per adapter. Native only: a browser has none.

use std::path::PathBuf;

/// The directory, or None where no variable names one.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("AER_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("aer")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("aer")))
}

/// `<table>-<adapter>.<ext>` in the cache directory, the adapter's name lower-cased with
/// anything but letters and digits as '-'.
pub fn cache_file(table: &str, adapter: &str, ext: &str) -> Option<PathBuf> {
    let name: String = adapter.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    Some(cache_dir()?.join(format!("{table}-{name}.{ext}")))
}
