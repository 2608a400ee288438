//! Artefacts a person looks at: image grids and (later) the experiment report.

mod grid;

pub use grid::{adversarial_grid, encode_png};
