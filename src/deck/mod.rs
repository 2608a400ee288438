//! CARD-Decks (Diffenderfer et al., "A Winning Hand", NeurIPS 2021): several compressed models
//! (CARDs), each trained with its own data augmentation, and a gate that at test time looks
//! at a batch's spectral signature (the mean 2-D Fourier magnitude of its images, minus the
//! clean validation images') and picks or weights the members whose augmentation's signature
//! is nearest (docs/deck.md).
//!
//! `augmentation`: which augmentation a checkpoint trained with, applied again to validation
//! images; `spectra`: mean spectra of a data set; `file`: the deck file; `build`: a deck from
//! checkpoints and validation images; `gate`: the distances and member weights; `evaluate`:
//! accuracy of the deck, its members and a reference model on clean and corrupted test images.

pub mod augmentation;
pub mod build;
pub mod evaluate;
pub mod file;
pub mod gate;
pub mod spectra;

pub use augmentation::TrainedAugmentation;
pub use build::build_deck;
pub use evaluate::{evaluate_deck, ConditionResult, DeckEvalConfig, DeckResult};
pub use file::{DeckFile, DeckMember};
pub use gate::Gate;
