//! Artefacts a person looks at: image grids, plots, and the AER report of pipeline runs.

pub mod aer;
pub mod deck;
mod grid;
mod reliability;
pub mod shift;
pub mod siblings;
pub mod svg;
pub mod uncertainty;

pub use grid::{adversarial_grid, corruption_grid, encode_png};
pub use reliability::reliability_svg;
