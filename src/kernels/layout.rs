/// How activations are laid out around a product with a weight matrix W [N, K] (ternary or
/// block-sparse): a linear layer's x [M, K] and y [M, N], or a convolution's im2col columns
/// [K, M] and channel-major output [N, M].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ActivationLayout {
    /// The activations x (and the input gradient) are stored [K, M] (im2col columns).
    pub trans_x: bool,
    /// The outputs y (and their gradient) are stored [N, M] (a convolution's channel-major output).
    pub trans_y: bool,
}

impl ActivationLayout {
    /// A linear layer: x [M, K], y [M, N].
    pub const LINEAR: ActivationLayout = ActivationLayout { trans_x: false, trans_y: false };
    /// A convolution through im2col: columns [K, M], output [N, M].
    pub const CONV: ActivationLayout = ActivationLayout { trans_x: true, trans_y: true };
}
