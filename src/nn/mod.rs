//! Layers and models: a model is a list of layers described in TOML, checked for shapes
//! against the data, with parameters on the GPU and a forward and backward pass.

mod bounds;
mod init;
pub mod interop;
mod model;
mod spec;
mod weights;

pub use bounds::{Bounds, BoundsTape};
pub use model::{Model, Param, Tape, PACKED_TRAINING_MIN_WEIGHTS, SKIP_LINEAR_MAX_BATCH};
pub use weights::{OwnedWeights, Weights, WeightsRef};
pub use spec::{LayerSpec, ModelSpec};
