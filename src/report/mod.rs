//! Artefacts a person looks at: image grids, plots, and the AER report of pipeline runs.

pub mod aer;
mod grid;
pub mod shift;
pub mod siblings;
pub mod svg;

pub use grid::{adversarial_grid, corruption_grid, encode_png};
