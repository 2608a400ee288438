//! aer: train, prune, ternarize and attack neural networks with hand-written WGSL kernels on
//! wgpu. The same async code runs natively (driven by pollster) and in the browser.

pub mod error;
pub mod files;
pub mod gpu;
#[cfg(all(feature = "cli", not(target_arch = "wasm32")))]
pub mod cli;
pub mod attack;
pub mod bench;
pub mod data;
pub mod deck;
pub mod faults;
pub mod kernels;
pub mod methods;
pub mod nn;
pub mod pipeline;
pub mod quant;
pub mod reference;
pub mod report;
pub mod shift;
pub mod sparse;
pub mod train;
pub mod uncertainty;
pub mod verify;
pub mod watermark;
#[cfg(target_arch = "wasm32")] pub mod web;

pub use error::{AerError, Result};
