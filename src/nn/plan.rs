//! How each layer of a model executes: on packed ternary, block-sparse, approximate-multiplier
//! or dense weights, and with which kernel where several compute the same thing (direct
//! convolution, channel skipping after winners-take-all, packed products in training). The
//! toggles live here and every choice between kernels is made here, from the thresholds of
//! `crate::kernels::tune`.

use super::model::{Layer, Model};
use super::weights::{Weights, WeightsRef};
use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};
use crate::kernels::tune::{Crossover, Cutoffs};
use crate::kernels::{self as k, Bsr, BsrTernary, Conv2dGeometry, PackedTernary};
use std::collections::HashMap;

/// The execution toggles of one model.
pub(super) struct Plan {
    /// Packed ternary weights by parameter index: when present, the forward pass and the
    /// input gradient run on them (inference and attacks), and parameter gradients are not
    /// available.
    pub(super) packed: HashMap<usize, PackedTernary>,
    /// Dense weights unpacked from the packed layers whose products run dense on this adapter
    /// (`runs_unpacked`), by parameter index: remade whenever the packed weights are set.
    pub(super) unpacked: HashMap<usize, Tensor>,
    /// Block-sparse copies of pruned weights by parameter index (`use_block_sparse`): when
    /// present, the layer's products run on the BSR kernels, skipping pruned blocks.
    pub(super) sparse: HashMap<usize, Bsr>,
    /// Block-sparse ternary copies of packed, pruned weights by parameter index
    /// (`use_block_sparse` on a packed model): the kept blocks' 2-bit codes.
    pub(super) sparse_ternary: HashMap<usize, BsrTernary>,
    /// An 8-bit multiplier's product table (`use_multiplier`): when present, the forward
    /// pass's weight products quantize both operands and multiply through it.
    pub(super) approx: Option<Tensor>,
    /// The packed layers' forward products read and write half-precision activations
    /// (`use_f16_activations`).
    pub(super) half_activations: bool,
    /// Weight layers after a winners-take-all layer read only the kept channels: convolutions
    /// forward and backward, linear layers in small passes without a tape (`use_channel_skip`).
    pub(super) channel_skip: bool,
    /// Quantization-aware training runs large linear layers' forward products on packed
    /// weights (`use_packed_training`, `Cutoffs::packed_training_min_weights`).
    pub(super) packed_training: bool,
    /// Convolutions with few weights run as direct convolutions (`use_direct_conv`).
    pub(super) direct_conv: bool,
    /// Where layers change kernels on the model's adapter.
    pub(super) cutoffs: Cutoffs,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan { packed: HashMap::new(), unpacked: HashMap::new(), sparse: HashMap::new(), sparse_ternary: HashMap::new(), approx: None, half_activations: false, channel_skip: true, packed_training: true, direct_conv: true, cutoffs: Cutoffs::shipped() }
    }
}

impl Plan {
    /// The default plan with `gpu`'s cutoffs (measured by `aer tune`, else shipped).
    pub(super) fn for_gpu(gpu: &Gpu) -> Plan {
        Plan { cutoffs: Cutoffs::for_gpu(gpu), ..Plan::default() }
    }
}

/// A layer that `Model::use_block_sparse` moved to the block-sparse kernels.
#[derive(Clone, Debug)]
pub struct BlockSparseLayer {
    pub weight: String,
    pub block: usize,
    /// Share of blocks kept.
    pub density: f64,
}

impl Model {
    /// Whether convolution weight `w` (`out` channels over `g`) runs as a direct convolution
    /// rather than im2col and a product: dense (or dequantized) weights few enough for
    /// `conv_direct`, an image model's first layer. On llvmpipe that takes cnn's conv1 (16 x
    /// 25 over 128 28x28 images) from about 100 ms of im2col, product, permute, bias and ReLU
    /// passes to 43-55 ms in one pass.
    pub(super) fn convolves_directly(&self, w: usize, g: &Conv2dGeometry, out: usize) -> bool {
        self.plan.direct_conv && matches!(self.forward_weights(w), Weights::Dense(_)) && k::takes_direct(g, out)
    }

    /// Whether weight `w`'s forward product reads only the channels a winners-take-all layer
    /// kept (`keep` of `channels`) in a pass over `batch` examples: with channel skipping on, on
    /// dense (or dequantized) weights, a linear layer only up to `Cutoffs::skip_linear_max_batch`
    /// examples (beyond, the dense product is faster) and without a tape, and within
    /// llvmpipe's limit on one invocation's loop iterations (keep * inputs per channel).
    pub(super) fn skips_channels(&self, w: usize, batch: usize, keep: usize, channels: usize) -> bool {
        let shape = self.params[w].value.shape();
        let linear = shape.len() == 2;
        let per_channel = super::matrix_shape(shape).1 / channels;
        self.plan.channel_skip
            && matches!(self.forward_weights(w), Weights::Dense(_))
            && (!linear || batch <= self.plan.cutoffs.skip_linear_max_batch)
            && keep * per_channel < 65_000
    }

    /// Whether quantized weight `w`'s forward product runs on a packed copy made before each
    /// forward pass (see `Cutoffs::packed_training_min_weights`): a linear layer that large, on an
    /// adapter with the wide ternary kernel, with exactly ternary weights (neither BinaryRelax's
    /// relaxation nor HQ's sphere phase) and no other kernel in its place.
    pub(super) fn trains_packed(&self, gpu: &Gpu, w: usize) -> bool {
        let shape = self.params[w].value.shape();
        self.plan.packed_training
            && self.quant.as_ref().is_some_and(|q| q.exact() && q.find(w).is_some())
            && self.plan.packed.is_empty()
            && self.plan.approx.is_none()
            && !self.plan.sparse.contains_key(&w)
            && shape.len() == 2
            && shape[0] * shape[1] >= self.plan.cutoffs.packed_training_min_weights
            && k::TernaryVariant::for_gpu(gpu) == k::TernaryVariant::Wide
    }

    /// Where this model's layers change kernels (its adapter's cutoffs when it was built).
    pub fn cutoffs(&self) -> &Cutoffs {
        &self.plan.cutoffs
    }

    /// Change kernels at other sizes than this adapter's cutoffs say (e.g. to exercise a path).
    pub fn use_cutoffs(&mut self, cutoffs: Cutoffs) {
        self.plan.cutoffs = cutoffs;
    }

    /// The quantized weights whose forward products run packed in training on this adapter.
    pub fn packed_in_training(&self, gpu: &Gpu) -> Vec<String> {
        self.layers.iter().filter_map(|l| match l {
            Layer::Linear { w, .. } if self.trains_packed(gpu, *w) => Some(self.params[*w].name.clone()),
            _ => None,
        }).collect()
    }

    /// Let quantization-aware training run large linear layers on packed weights (the
    /// default), or every layer on the dequantized weights.
    pub fn use_packed_training(&mut self, on: bool) {
        self.plan.packed_training = on;
    }

    /// Let weight layers after a winners-take-all layer read only its kept channels (the
    /// default), or compute with every channel again (the dense product of the zeroed ones).
    pub fn use_channel_skip(&mut self, on: bool) {
        self.plan.channel_skip = on;
    }

    /// Let convolutions with few weights run as direct convolutions (the default), or every
    /// convolution through im2col and a product.
    pub fn use_direct_conv(&mut self, on: bool) {
        self.plan.direct_conv = on;
    }

    /// Run pruned layers on the block-sparse kernels where that is faster. For each masked
    /// weight of a layer that is not quantized, or quantized and packed (`use_packed` first:
    /// its kept blocks then run as 2-bit codes, `BsrTernary`), a block size B takes time about
    /// density(B) / crossover(B) of the dense product (at the crossover both take the same), so
    /// the block size with the smallest such ratio below 1 is chosen (ties to the larger B).
    /// Rebuilds the structure from the current masks (call again after the masks change);
    /// returns the layers moved.
    pub async fn use_block_sparse(&mut self, gpu: &Gpu, crossover: &Crossover) -> Result<Vec<BlockSparseLayer>> {
        self.plan.sparse.clear();
        self.plan.sparse_ternary.clear();
        let mut chosen = Vec::new();
        for i in 0..self.params.len() {
            let p = &self.params[i];
            let packed = self.plan.packed.get(&i);
            let quantized = self.quant.as_ref().is_some_and(|q| q.find(i).is_some()) && packed.is_none();
            let Some(mask) = p.mask.as_ref().filter(|_| p.prunable() && !quantized) else { continue };
            let (n, kk) = super::matrix_shape(p.value.shape());
            // The crossover measured for f32 blocks serves the ternary ones too: both kernels
            // run the same loop, the codes only replacing the weight loads.
            let mut best: Option<(f64, usize)> = None;
            for &block in k::BSR_BLOCKS.iter().rev() {
                let bsr = Bsr::from_mask(gpu, mask, &p.value, n, kk, block).await?;
                let limit = crossover.max_density(block);
                let ratio = if limit > 0.0 { bsr.density() / limit } else { f64::INFINITY };
                if ratio <= 1.0 && best.is_none_or(|(r, _)| ratio < r) {
                    best = Some((ratio, block));
                    if packed.is_none() {
                        self.plan.sparse.insert(i, bsr);
                    }
                }
            }
            let Some((_, block)) = best else { continue };
            let density = match packed {
                Some(pk) => {
                    let bt = BsrTernary::from_packed(gpu, mask, pk, block).await?;
                    let d = bt.density();
                    self.plan.sparse_ternary.insert(i, bt);
                    d
                }
                None => self.plan.sparse[&i].density(),
            };
            chosen.push(BlockSparseLayer { weight: p.name.clone(), block, density });
        }
        Ok(chosen)
    }

    /// The block structure of weight `i` where it runs block-sparse (f32 or ternary blocks).
    pub(super) fn block_structure(&self, i: usize) -> Option<&Bsr> {
        self.plan.sparse_ternary.get(&i).map(|bt| &bt.structure).or_else(|| self.plan.sparse.get(&i))
    }

    /// The form weight `i`'s products run in: packed (or dense on its unpacked weights),
    /// block-sparse, or dense (`weight`).
    pub(super) fn weights(&self, i: usize) -> WeightsRef<'_> {
        if let Some(bt) = self.plan.sparse_ternary.get(&i) {
            return Weights::SparseTernary(bt);
        }
        match (self.plan.packed.get(&i), self.plan.sparse.get(&i)) {
            (Some(_), _) if self.plan.unpacked.contains_key(&i) => Weights::Dense(self.weight(i)),
            (Some(pk), _) => Weights::Packed(pk),
            (None, Some(bsr)) => Weights::Sparse(bsr),
            (None, None) => Weights::Dense(self.weight(i)),
        }
    }

    /// The weights of the forward pass: through the multiplier's table when one is in use
    /// (packed layers keep their own kernels).
    pub(super) fn forward_weights(&self, i: usize) -> WeightsRef<'_> {
        match (&self.plan.approx, self.plan.packed.get(&i)) {
            (_, Some(pk)) if self.plan.half_activations && !self.plan.unpacked.contains_key(&i) && !self.plan.sparse_ternary.contains_key(&i) => Weights::PackedF16(pk),
            (Some(table), None) => Weights::Approx(self.weight(i), table),
            _ => self.weights(i),
        }
    }

    /// Compute the forward pass's weight products through an 8-bit multiplier's product table
    /// (i32 [65536], see `crate::faults::ProductTable`), or exactly again with None. Input
    /// gradients (attacks) and interval bounds keep the exact products.
    pub fn use_multiplier(&mut self, table: Option<Tensor>) {
        self.plan.approx = table;
    }

    /// Run inference and attacks on packed ternary weights from now on (quantized models only).
    pub fn use_packed(&mut self, gpu: &Gpu) -> Result<()> {
        let q = self.quant.as_ref().ok_or_else(|| AerError::Invalid(format!("model '{}' is not quantized: add a [quant] table (or train with --quant)", self.spec.name)))?;
        let packed = q.pack(gpu, &self.params);
        self.set_packed(gpu, packed);
        Ok(())
    }

    /// Whether packed weight `i` runs dense, on weights unpacked from its words: convolutions
    /// where `TernaryConv` says the packed kernels lose on this adapter (CPU adapters), and
    /// linear layers too narrow for the wide ternary kernel (`WIDE_MIN_OUTPUTS`). Other linear
    /// layers stay packed (the wide kernel beats the dense product on them).
    fn runs_unpacked(&self, gpu: &Gpu, i: usize) -> bool {
        let shape = self.params[i].value.shape();
        match shape.len() {
            4 => k::TernaryConv::for_gpu(gpu) == k::TernaryConv::Dense,
            _ => shape[0] < k::WIDE_MIN_OUTPUTS && k::TernaryVariant::for_gpu(gpu) == k::TernaryVariant::Wide,
        }
    }

    /// Run the packed layers' forward products on half-precision activations (rounded to f16
    /// at each packed layer's input and output; input gradients stay f32), or in f32 again.
    /// Needs packed weights and an adapter with shader-f16.
    pub fn use_f16_activations(&mut self, gpu: &Gpu, on: bool) -> Result<()> {
        if on && self.plan.packed.is_empty() {
            return Err(AerError::Invalid(format!("model '{}' has no packed ternary layers: f16 activations run on packed weights (pack it with `aer quantize`)", self.spec.name)));
        }
        if on && !gpu.has_f16() {
            return Err(AerError::Invalid(format!("{} has no shader-f16, so f16 activations cannot run on it: drop the f16 option or choose another adapter (`aer adapters` lists them)", gpu.adapter_label())));
        }
        self.plan.half_activations = on;
        Ok(())
    }

    /// Use the given packed weights (by parameter index), e.g. read from a packed checkpoint;
    /// the layers that run dense on this adapter get their weights unpacked from these words.
    pub fn set_packed(&mut self, gpu: &Gpu, packed: HashMap<usize, PackedTernary>) {
        self.plan.unpacked = packed.iter().filter(|(&i, _)| self.runs_unpacked(gpu, i)).map(|(&i, pk)| {
            let w = gpu.empty(&[pk.n, pk.k]);
            k::ternary_unpack(gpu, pk, &w);
            (i, w)
        }).collect();
        // Block-sparse ternary copies are of the words replaced: `use_block_sparse` again.
        self.plan.sparse_ternary.clear();
        self.plan.packed = packed;
    }

    /// For a forward pass over `batch` examples, packed linear weight `w` unpacked into dense
    /// weights when the dense product beats the packed one at that batch on this adapter
    /// (`PACKED_LINEAR_MAX_BATCH`, CPU adapters), else None (the layer's own form).
    pub(super) fn unpacked_for_batch(&self, gpu: &Gpu, w: usize, batch: usize) -> Option<Tensor> {
        let pk = self.plan.packed.get(&w)?;
        let own_form = self.plan.unpacked.contains_key(&w) || self.plan.sparse_ternary.contains_key(&w) || self.plan.half_activations;
        if own_form || batch <= k::PACKED_LINEAR_MAX_BATCH || k::TernaryVariant::for_gpu(gpu) != k::TernaryVariant::Wide {
            return None;
        }
        let dense = gpu.empty(&[pk.n, pk.k]);
        k::ternary_unpack(gpu, pk, &dense);
        Some(dense)
    }

    /// The packed layers that run dense on weights unpacked from their words.
    pub fn unpacked_layers(&self) -> Vec<String> {
        let mut names: Vec<String> = self.plan.unpacked.keys().map(|&i| self.params[i].name.clone()).collect();
        names.sort();
        names
    }

    pub fn packed(&self) -> &HashMap<usize, PackedTernary> {
        &self.plan.packed
    }
}
