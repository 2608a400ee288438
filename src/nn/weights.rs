//! The form a weight layer's products run in: dense, block-sparse, packed ternary or both
//! (block-sparse ternary). Every
//! pass over the model (forward, backward, bounds) multiplies through these two methods.

use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self as k, ActivationLayout, Bsr, BsrTernary, MatmulForm, PackedTernary};
use std::borrow::Borrow;

/// A weight tensor as the matrix [out, rest] that blocks tile.
pub fn matrix_shape(shape: &[usize]) -> (usize, usize) {
    let n = shape[0];
    (n, shape.iter().product::<usize>() / n.max(1))
}

#[derive(Clone)]
pub enum Weights<T: Borrow<Tensor>, S: Borrow<Bsr>, P: Borrow<PackedTernary>, Q: Borrow<BsrTernary>> {
    /// [out, k] (a convolution's [out, in * kh * kw]).
    Dense(T),
    Sparse(S),
    Packed(P),
    /// Packed ternary weights of a block-pruned layer: only the kept blocks, as 2-bit codes.
    SparseTernary(Q),
    /// Packed ternary weights whose forward product runs in half precision: x rounded to f16,
    /// y computed in f16 within each packed word and rounded to f16 (shader-f16 adapters).
    PackedF16(P),
    /// Dense weights [out, k] multiplied through an 8-bit multiplier's product table (i32
    /// [65536]); the input gradient uses the exact product (straight through).
    Approx(T, T),
}

/// A layer's weights, borrowed from the model.
pub type WeightsRef<'a> = Weights<&'a Tensor, &'a Bsr, &'a PackedTernary, &'a BsrTernary>;
/// Weights made for one pass (e.g. |W| for the radius of a bound).
pub type OwnedWeights = Weights<Tensor, Bsr, PackedTernary, BsrTernary>;

impl<T: Borrow<Tensor>, S: Borrow<Bsr>, P: Borrow<PackedTernary>, Q: Borrow<BsrTernary>> Weights<T, S, P, Q> {
    /// y = x W^T over m activation rows: x [m, k] -> y [m, out] for a linear layer
    /// (`LINEAR`), im2col columns [k, m] -> [out, m] for a convolution (`CONV`).
    #[allow(clippy::too_many_arguments)]
    pub fn apply(&self, gpu: &Gpu, x: &Tensor, y: &Tensor, m: usize, out: usize, kk: usize, layout: ActivationLayout) {
        match self {
            Weights::Packed(pk) => k::ternary_matmul(gpu, x, pk.borrow(), y, m, layout),
            Weights::PackedF16(pk) => {
                let (xh, yh) = (gpu.empty_f16(x.shape()), gpu.empty_f16(y.shape()));
                k::to_f16(gpu, x, &xh);
                k::ternary_matmul_f16(gpu, &xh, pk.borrow(), &yh, m, layout);
                k::to_f32(gpu, &yh, y);
            }
            Weights::Sparse(bsr) => k::bsr_matmul(gpu, x, bsr.borrow(), y, m, layout),
            Weights::SparseTernary(bt) => k::bsr_ternary_matmul(gpu, x, bt.borrow(), y, m, layout),
            Weights::Approx(w, table) => k::approx_product(gpu, x, w.borrow(), table.borrow(), y, m, out, kk, layout),
            Weights::Dense(w) if layout == ActivationLayout::LINEAR => k::matmul(gpu, MatmulForm::NT, x, w.borrow(), y, m, out, kk, false),
            Weights::Dense(w) => k::matmul(gpu, MatmulForm::NN, w.borrow(), x, y, out, m, kk, false),
        }
    }

    /// dx = dy W, the input gradient of `apply` (dy laid out as its y, dx as its x).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_t(&self, gpu: &Gpu, dy: &Tensor, dx: &Tensor, m: usize, out: usize, kk: usize, layout: ActivationLayout) {
        match self {
            Weights::Packed(pk) | Weights::PackedF16(pk) => k::ternary_matmul_t(gpu, dy, pk.borrow(), dx, m, layout),
            Weights::Sparse(bsr) => k::bsr_matmul_t(gpu, dy, bsr.borrow(), dx, m, layout),
            Weights::SparseTernary(bt) => k::bsr_ternary_matmul_t(gpu, dy, bt.borrow(), dx, m, layout),
            Weights::Dense(w) | Weights::Approx(w, _) if layout == ActivationLayout::LINEAR => k::matmul(gpu, MatmulForm::NN, dy, w.borrow(), dx, m, kk, out, false),
            Weights::Dense(w) | Weights::Approx(w, _) => k::matmul(gpu, MatmulForm::TN, w.borrow(), dy, dx, kk, m, out, false),
        }
    }

    /// |W| in the same form.
    pub fn abs(&self, gpu: &Gpu) -> OwnedWeights {
        match self {
            Weights::Packed(pk) | Weights::PackedF16(pk) => Weights::Packed(pk.borrow().abs(gpu)),
            Weights::Sparse(bsr) => Weights::Sparse(bsr.borrow().abs(gpu)),
            Weights::SparseTernary(bt) => Weights::SparseTernary(bt.borrow().abs(gpu)),
            Weights::Dense(w) | Weights::Approx(w, _) => {
                let w = w.borrow();
                let a = gpu.empty(w.shape());
                k::abs_values(gpu, w, &a);
                Weights::Dense(a)
            }
        }
    }
}
