//! The owner's secret: 32 random bytes in a file of their own (`aer watermark keygen`). Only
//! its id, a SHA-256 of it, is ever written anywhere else.

use super::triggers::SCHEME;
use crate::error::{AerError, Result};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Bytes in a key.
pub const KEY_BYTES: usize = 32;

#[derive(Clone, PartialEq, Eq)]
pub struct WatermarkKey([u8; KEY_BYTES]);

// Never print the key itself (logs, error messages): its id names it.
impl std::fmt::Debug for WatermarkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WatermarkKey({})", self.id())
    }
}

impl WatermarkKey {
    pub fn new(bytes: [u8; KEY_BYTES]) -> WatermarkKey {
        WatermarkKey(bytes)
    }

    /// The key a key file holds; `origin` names the file in errors.
    pub fn from_file_bytes(bytes: &[u8], origin: &Path) -> Result<WatermarkKey> {
        if let Ok(b) = <[u8; KEY_BYTES]>::try_from(bytes) {
            return Ok(WatermarkKey(b));
        }
        let text = String::from_utf8_lossy(bytes);
        let hint = if text.trim().len() == 2 * KEY_BYTES && text.trim().bytes().all(|c| c.is_ascii_hexdigit()) {
            " It holds the key as 64 hex digits: write the raw bytes instead (xxd -r -p KEY.hex > KEY)."
        } else if bytes.len() < KEY_BYTES {
            " It is truncated, or not a key file."
        } else {
            " It is not a key file (a checkpoint or a record?)."
        };
        Err(AerError::file(origin, format!("a watermark key is exactly {KEY_BYTES} bytes, this file has {}.{hint} `aer watermark keygen --key FILE` makes a key", bytes.len())))
    }

    /// Read a key file.
    pub fn load(path: &Path) -> Result<WatermarkKey> {
        let bytes = std::fs::read(path).map_err(|e| AerError::file(path, format!("cannot read the watermark key: {e}")))?;
        WatermarkKey::from_file_bytes(&bytes, path)
    }

    pub fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// The key's public name: hex SHA-256 of "aer-watermark-v1/id" followed by the key. It
    /// tells keys apart in records and results without revealing them.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!("{SCHEME}/id").as_bytes());
        h.update(self.0);
        hex(&h.finalize())
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
