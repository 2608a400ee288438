//! What a forward pass records for its backward pass.

use crate::gpu::Tensor;
use crate::kernels::{Conv2dGeometry, WtaShape};

/// The record of one forward pass, consumed by `Model::backward`.
pub struct Tape {
    pub(super) saved: Vec<Saved>,
    /// Every layer's input, when asked for (`Model::input_densities`).
    pub(super) inputs: Option<Vec<Tensor>>,
}

/// What one layer's forward pass keeps for its backward pass.
pub(super) enum Saved {
    Input(Tensor),
    /// What a convolution's weight gradient reads, and its geometry.
    Conv(ConvInput, Conv2dGeometry),
    Output(Tensor),
    /// A max-pool's argmax, input shape and output.
    Pool(Tensor, Vec<usize>, Tensor),
    Shape(Vec<usize>),
    /// Batch normalization's input, statistics [mean | invstd], scale and shift, and whether
    /// the statistics were the batch's (a training pass) or the running ones.
    Norm { x: Tensor, stats: Tensor, affine: Tensor, batch_stats: bool },
    /// The seed a dropout layer drew its mask from (None: it was off, in evaluation).
    Dropout(Option<u32>),
    /// Winners-take-all's channel mask [n, c].
    Mask(Tensor, WtaShape),
    /// Nothing: a forward pass without a tape took a path with no backward (a linear layer's
    /// channel skipping).
    Nothing,
}

pub(super) enum ConvInput {
    /// The im2col columns; `true` when they hold only the rows the layer's block-sparse
    /// weights read (`Bsr::active`).
    Cols(Tensor, bool),
    /// The input itself: the forward pass built no columns (`conv_direct`).
    Image(Tensor),
    /// The input, whose forward product read only the channels `list` (u32 [n, keep]) that
    /// winners-take-all kept (`skip_conv`).
    Kept { x: Tensor, cols: Tensor, list: Tensor, keep: usize },
}

/// The channels the last winners-take-all layer kept, while they still index the activation's
/// channels (ReLU, max-pooling and flattening keep a dropped channel zero).
pub(super) struct KeptChannels {
    /// u32 [n, keep], ascending per example.
    pub(super) list: Tensor,
    pub(super) keep: usize,
    /// Channels of the activation WTA selected in.
    pub(super) channels: usize,
}

/// What a backward pass does with parameter gradients.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Grads {
    /// Leave them alone (input gradients only).
    Skip,
    /// Write them, unmasked and before quantization's estimator.
    Raw,
    /// Write them and complete them (`Model::weight_grad_done`).
    Finished,
}
