//! The owner's record of an embedding, kept beside the key (`<run>/watermark.json`): which key
//! (by id), how many triggers, and the inputs and classes they were made for, so that a check
//! against a model of another shape, or with another key, is refused instead of reported as
//! chance agreement.

use super::key::WatermarkKey;
use super::triggers::SCHEME;
use crate::error::{AerError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkRecord {
    /// The derivation (`SCHEME`).
    pub scheme: String,
    /// `WatermarkKey::id` of the key.
    pub key_id: String,
    pub triggers: usize,
    /// [channels, height, width] of the inputs the triggers were made for.
    pub input: [usize; 3],
    pub classes: usize,
    /// Share of each training batch that was triggers.
    pub share: f32,
}

impl WatermarkRecord {
    pub fn new(key: &WatermarkKey, triggers: usize, input: [usize; 3], classes: usize, share: f32) -> WatermarkRecord {
        WatermarkRecord { scheme: SCHEME.into(), key_id: key.id(), triggers, input, classes, share }
    }

    pub fn load(path: &Path) -> Result<WatermarkRecord> {
        let text = std::fs::read_to_string(path).map_err(|e| AerError::file(path, format!("cannot read the watermark record: {e}")))?;
        serde_json::from_str(&text).map_err(|e| AerError::file(path, format!("is not a watermark record (the watermark.json `aer watermark embed` writes): {e}")))
    }

    /// Refuse a key other than the record's, or a model (`checkpoint`, taking `input` with
    /// `classes` classes) other than the one its triggers were made for.
    pub fn check(&self, record: &Path, key: &WatermarkKey, checkpoint: &Path, input: [usize; 3], classes: usize) -> Result<()> {
        if self.scheme != SCHEME {
            return Err(AerError::file(record, format!("records a watermark of scheme '{}'; this aer derives triggers by '{SCHEME}'", self.scheme)));
        }
        if self.key_id != key.id() {
            return Err(AerError::file(record, format!("records the key with id {}, but the key given has id {}: give the key this record was made with", self.key_id, key.id())));
        }
        if self.input != input || self.classes != classes {
            return Err(AerError::checkpoint(
                checkpoint,
                format!(
                    "takes inputs {input:?} with {classes} classes, but the watermark's triggers ({}) were made for inputs {:?} with {} classes: this checkpoint is another architecture, not a sibling of the watermarked model",
                    record.display(),
                    self.input,
                    self.classes
                ),
            ));
        }
        Ok(())
    }
}
