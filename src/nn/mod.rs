//! Layers and models: a model is a list of layers described in TOML, checked for shapes
//! against the data, with parameters on the GPU and a forward and backward pass.

mod init;
mod model;
mod spec;

pub use model::{Model, Param, Tape};
pub use spec::{LayerSpec, ModelSpec};
