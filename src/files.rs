//! Files that are either whole or absent: every result, checkpoint and table is written to a
//! temp file beside its place and renamed into it, so a killed run never leaves half a file
//! under the real name.

use crate::error::{AerError, Result};
use std::path::Path;

/// Write `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| AerError::file(dir, format!("cannot create directory: {e}")))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| AerError::file(&tmp, format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| AerError::file(path, format!("cannot rename the finished temp file into place: {e}")))
}
