//! Layers and models: a model is a list of layers described in TOML, checked for shapes
//! against the data, with parameters on the GPU and a forward and backward pass.

mod backward;
mod bounds;
pub mod flat;
mod fold;
mod forward;
mod init;
pub mod interop;
mod model;
mod plan;
pub mod quant;
mod spec;
mod stats;
mod tape;
mod weights;

pub use bounds::{Bounds, BoundsTape};
pub use fold::{fold_batchnorm, Folding};
pub use model::{Model, Param, ParamKind};
pub use plan::BlockSparseLayer;
pub use tape::Tape;
pub use weights::{matrix_shape, OwnedWeights, Weights, WeightsRef};
pub use spec::{LayerSpec, ModelSpec};
