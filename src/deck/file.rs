//! The deck file (`deck.toml`): the members, each a checkpoint with the augmentation it
//! trained with and that augmentation's spectral signature, and the clean spectrum of the
//! validation images the signatures are taken against. Checkpoint paths are relative to the
//! deck file's directory (or absolute).
//!
//! ```toml
//! data = "mnist"            # where the validation images came from
//! validation_images = 5000
//! input = [1, 28, 28]
//! classes = 10
//! clean = [...]             # S0: mean |F(x)| over validation images, [h, w] row-major
//!
//! [[members]]
//! checkpoint = "../augmix/best.safetensors"
//! augmentation = { kind = "augmix", width = 3, depth = 0, severity = 3.0, alpha = 1.0 }
//! signature = [...]         # S_m = mean |F(aug_m(x))| - S0
//! ```

use super::augmentation::TrainedAugmentation;
use crate::error::{AerError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeckMember {
    pub checkpoint: PathBuf,
    pub augmentation: TrainedAugmentation,
    pub signature: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeckFile {
    pub data: String,
    pub validation_images: usize,
    pub input: [usize; 3],
    pub classes: usize,
    pub clean: Vec<f32>,
    pub members: Vec<DeckMember>,
}

impl DeckFile {
    /// Read and check a deck file: at least one member, every spectrum [h, w] of its input
    /// shape, every checkpoint present (paths resolved against the file's directory).
    pub fn load(path: &Path) -> Result<DeckFile> {
        let text = std::fs::read_to_string(path).map_err(|e| AerError::file(path, format!("cannot read the deck file: {e}; write one with `aer deck build`")))?;
        let mut deck: DeckFile = toml::from_str(&text).map_err(|e| AerError::file(path, format!("is not a deck file (see docs/deck.md): {e}")))?;
        if deck.members.is_empty() {
            return Err(AerError::file(path, "lists no members: a deck needs at least one checkpoint ([[members]]; `aer deck build --member A.safetensors ...`)"));
        }
        let hw = deck.input[1] * deck.input[2];
        let bad = |what: &str, len: usize| AerError::file(path, format!("{what} has {len} values, but the input {:?} needs {hw} ([h, w]): rebuild the deck with `aer deck build`", deck.input));
        if deck.clean.len() != hw {
            return Err(bad("the clean spectrum", deck.clean.len()));
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        for (i, m) in deck.members.iter_mut().enumerate() {
            if m.signature.len() != hw {
                return Err(bad(&format!("member {i}'s signature"), m.signature.len()));
            }
            m.checkpoint = dir.join(&m.checkpoint);
            if !m.checkpoint.is_file() {
                return Err(AerError::file(&m.checkpoint, format!("member {i} of deck {} names this checkpoint, which does not exist: train it, or rebuild the deck with existing checkpoints", path.display())));
            }
        }
        Ok(deck)
    }

    /// Write the deck to `path` (whole or not at all), checkpoint paths as given.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| AerError::Invalid(format!("cannot write the deck file: {e}")))?;
        crate::files::write_atomic(path, text.as_bytes())
    }
}
