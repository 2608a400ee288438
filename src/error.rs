//! One error type for the whole library: every variant names what was wrong and, where there
//! is one, the fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AerError {
    #[error("no GPU adapter found{detail}.\n  On Debian/Ubuntu without a GPU, install the CPU Vulkan driver: `apt-get install mesa-vulkan-drivers`.\n  `aer adapters` lists what wgpu can see.")]
    NoAdapter { detail: String },

    #[error("could not open the GPU device on '{adapter}': {reason}")]
    Device { adapter: String, reason: String },

    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },

    #[error("model spec: {0}")]
    Spec(String),

    #[error("checkpoint {path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },

    #[error("GPU: {0}")]
    Gpu(String),

    #[error("{0}")]
    Invalid(String),
}

impl AerError {
    pub fn file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        AerError::File { path: path.into(), reason: reason.into() }
    }
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        AerError::Checkpoint { path: path.into(), reason: reason.into() }
    }
}

pub type Result<T, E = AerError> = std::result::Result<T, E>;
