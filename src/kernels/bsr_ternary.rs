//! Block-sparse products on ternary weights (`shaders/bsr_ternary.wgsl`): the kept blocks of a
//! pruned layer (the structure of `Bsr`) holding 2-bit codes and per-row scales (as
//! `PackedTernary`), for a model that is both block-pruned and ternarized.

use super::bsr::{product_launch, Bsr, Walk};
use super::layout::ActivationLayout;
use super::shaders::BSR_TERNARY;
use super::ternary::PackedTernary;
use crate::error::Result;
use crate::gpu::{Gpu, Kernel, Tensor};

/// A ternary weight matrix [n, k] kept as block-sparse 2-bit codes (layout in
/// `shaders/bsr_ternary.wgsl`). Cloning shares the tensors.
#[derive(Clone)]
pub struct BsrTernary {
    /// The kept blocks' structure (its f32 values are not kept: a single zero each).
    pub structure: Bsr,
    /// u32 [n_blocks, block, words]: row order, by inner offset (column of W).
    pub codes: Tensor,
    /// u32 [n_blocks, block, words]: column order, by inner offset (row of W).
    pub codes_t: Tensor,
    /// f32 [n] each, shared with the packed weights.
    pub scale_pos: Tensor,
    pub scale_neg: Tensor,
}

/// u32 words that hold the codes of one block line (ceil(block / 16)).
pub fn block_words(block: usize) -> usize {
    block.div_ceil(16)
}

/// Codes of the kept blocks of a packed matrix [n, k] (`words`, `PackedTernary`'s layout), in
/// the order of a block list: entry e of panel `panel(e)` and inner block `inner(e)`, lines
/// along the inner side. `by_row`: panels are block rows (forward codes), else block columns.
fn block_codes(words: &[u32], n: usize, k: usize, block: usize, ptr: &[u32], inner: &[u32], by_row: bool) -> Vec<u32> {
    let wpr = super::words_per_row(k);
    let bw = block_words(block);
    let mut out = vec![0u32; (inner.len() * block * bw).max(1)];
    for panel in 0..ptr.len() - 1 {
        for e in ptr[panel] as usize..ptr[panel + 1] as usize {
            let q = inner[e] as usize;
            for i in 0..block {
                for o in 0..block {
                    // (row, column) of W: the panel side is the output side of the walk.
                    let (r, c) = if by_row { (panel * block + o, q * block + i) } else { (q * block + i, panel * block + o) };
                    if r >= n || c >= k {
                        continue;
                    }
                    let code = (words[r * wpr + c / 16] >> (2 * (c % 16))) & 3;
                    out[(e * block + i) * bw + o / 16] |= code << (2 * (o % 16));
                }
            }
        }
    }
    out
}

impl BsrTernary {
    /// The kept blocks of packed weights `w` where `mask` ([n, k]) has any nonzero element:
    /// the structure built on the GPU as `Bsr::from_mask` does, the codes gathered from the
    /// packed words here (one readback of the words and block lists).
    pub async fn from_packed(gpu: &Gpu, mask: &Tensor, w: &PackedTernary, block: usize) -> Result<BsrTernary> {
        let structure = Bsr::from_mask(gpu, mask, mask, w.n, w.k, block).await?;
        let bytes = gpu.read_bytes(&[&w.words, &structure.row_ptr, &structure.col_idx, &structure.col_ptr, &structure.row_idx]).await?;
        let v: Vec<Vec<u32>> = bytes.iter().map(|b| bytemuck::pod_collect_to_vec(b)).collect();
        let nb = structure.n_blocks;
        let codes = block_codes(&v[0], w.n, w.k, block, &v[1], &v[2][..nb], true);
        let codes_t = block_codes(&v[0], w.n, w.k, block, &v[3], &v[4][..nb], false);
        let upload = |c: &[u32]| gpu.upload_u32(c, &[c.len()]);
        let (codes, codes_t) = (upload(&codes), upload(&codes_t));
        let structure = Bsr { values: gpu.zeros(&[1]), values_t: gpu.zeros(&[1]), ..structure };
        Ok(BsrTernary { structure, codes, codes_t, scale_pos: w.scale_pos.clone(), scale_neg: w.scale_neg.clone() })
    }

    /// |W| in the same codes: with the negative scales negated, a -1 code contributes
    /// |w| (as `PackedTernary::abs`).
    pub fn abs(&self, gpu: &Gpu) -> BsrTernary {
        let neg = gpu.empty(self.scale_neg.shape());
        super::negate_values(gpu, &self.scale_neg, &neg);
        BsrTernary { scale_neg: neg, ..self.clone() }
    }

    /// Share of blocks kept.
    pub fn density(&self) -> f64 {
        self.structure.density()
    }
}

/// c = a W-walk over `walk` with `codes` in its entry order; `scale_inner` for the input
/// gradient's walk, whose inner index is W's row.
#[allow(clippy::too_many_arguments)]
fn product(gpu: &Gpu, w: &BsrTernary, walk: Walk, codes: &Tensor, a: &Tensor, c: &Tensor, m: usize, trans_a: bool, trans_c: bool, scale_inner: bool) {
    let Some(mut launch) = product_launch(gpu, "bsr_ternary", w.structure.block, &walk, a, c, m, trans_a, trans_c) else {
        return;
    };
    launch.overrides.push(("SCALE_INNER", scale_inner as u32 as f64));
    let kernel = Kernel { shader: &BSR_TERNARY, entry: "bsr_ternary_matmul" };
    gpu.launch(&kernel, &launch.overrides, &launch.params, &[a, codes, walk.ptr, walk.inner, c, &w.scale_pos, &w.scale_neg], launch.grid);
}

/// y[m, n] = sum_k x[m, k] W[n, k] over the kept blocks of ternary W (layouts as the ternary
/// product's).
pub fn bsr_ternary_matmul(gpu: &Gpu, x: &Tensor, w: &BsrTernary, y: &Tensor, m: usize, layout: ActivationLayout) {
    product(gpu, w, w.structure.rows_walk(false), &w.codes, x, y, m, layout.trans_x, layout.trans_y, false);
}

/// dx[m, k] = sum_n dy[m, n] W[n, k]: the input gradient of `bsr_ternary_matmul`.
pub fn bsr_ternary_matmul_t(gpu: &Gpu, dy: &Tensor, w: &BsrTernary, dx: &Tensor, m: usize, layout: ActivationLayout) {
    product(gpu, w, w.structure.cols_walk(false), &w.codes_t, dy, dx, m, layout.trans_y, layout.trans_x, true);
}

/// A convolution's forward on im2col columns restricted to W's active columns (as
/// `bsr_conv_forward`): cols [active * block, m] -> y [n, m].
pub fn bsr_ternary_conv_forward(gpu: &Gpu, cols: &Tensor, w: &BsrTernary, y: &Tensor, m: usize) {
    product(gpu, w, w.structure.rows_walk(true), &w.codes, cols, y, m, true, true, false);
}

/// Its input gradient: dy [n, m] -> dcols [active * block, m] (as `bsr_conv_backward_data`).
pub fn bsr_ternary_conv_backward_data(gpu: &Gpu, dy: &Tensor, w: &BsrTernary, dcols: &Tensor, m: usize) {
    product(gpu, w, w.structure.cols_walk(true), &w.codes_t, dy, dcols, m, true, true, true);
}
