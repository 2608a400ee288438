//! A deck from trained checkpoints and validation images (never test images): the clean
//! spectrum S0 = mean |F(x)| and, per member, the signature of its training augmentation
//! S_m = mean |F(aug_m(x))| - S0, the augmentation applied with the member's own settings.

use super::augmentation::TrainedAugmentation;
use super::file::{DeckFile, DeckMember};
use super::gate::batch_signature;
use super::spectra::mean_spectrum;
use crate::data::Dataset;
use crate::error::{AerError, Result};
use crate::gpu::Gpu;
use crate::reference::common::pcg;
use crate::train::Checkpoint;
use crate::uncertainty::check_member_shapes;
use std::path::PathBuf;

/// The deck of `members` (checkpoint path, checkpoint) on the validation images `val` of the
/// data set `data`; augmentations drawn from `seed`. Members must share the input shape and
/// class count (and match `val`); their architectures may differ.
pub async fn build_deck(gpu: &Gpu, members: &[(PathBuf, Checkpoint)], val: &Dataset, classes: usize, data: &str, seed: u32) -> Result<DeckFile> {
    let named: Vec<(String, &Checkpoint)> = members.iter().map(|(p, c)| (p.display().to_string(), c)).collect();
    check_member_shapes(&named)?;
    for (p, c) in members {
        c.check_data(val.shape, classes, p)?;
    }
    if val.is_empty() {
        return Err(AerError::Invalid("the validation split is empty: a deck's spectra come from validation images; give --val-size of at least a few hundred".into()));
    }
    let clean = mean_spectrum(gpu, val, &|x, _, _| gpu.duplicate(x)).await?;
    let mut out = Vec::new();
    for (path, ck) in members {
        let augmentation = TrainedAugmentation::of(&ck.config)?;
        let spectrum = mean_spectrum(gpu, val, &|x, shape, k| augmentation.apply(gpu, x, shape, pcg(seed ^ pcg(k as u32)))).await?;
        out.push(DeckMember { checkpoint: path.clone(), augmentation, signature: batch_signature(&spectrum, &clean) });
    }
    Ok(DeckFile { data: data.to_string(), validation_images: val.len(), input: val.shape, classes, clean, members: out })
}
