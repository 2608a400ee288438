//! Training methods for ternary models (the model format itself is `crate::nn::quant`):
//! BinaryRelax's relaxation toward the ternary projection, and hyperspherical quantization.

mod hq;
mod relax;

pub use hq::HqConfig;
pub use relax::RelaxConfig;
