//! Block-sparse entries: one pass of a layer (forward, input gradient or weight gradient)
//! through the BSR kernels at a block size and density, next to the same pass through the
//! dense matmul the model otherwise runs, on the same shapes. A convolution's passes include
//! what differs between the two: im2col before the forward product and col2im after the
//! input gradient's, which the block-sparse layer does only for the patch rows its kept
//! blocks read (the layout permutes, the same for both, are left out).

use super::entries::{failed, mismatch, random, result, ConvPass};
use super::{EntryResult, Versus};
use crate::error::Result;
use crate::gpu::{Gpu, Tensor};
use crate::kernels::{self, ActivationLayout, Bsr, Conv2dGeometry, MatmulForm};
use crate::reference;
use rand::seq::index::sample;
use rand::SeedableRng;

/// A layer of the suite: a linear layer (x [m, k], y [m, n]) or a convolution through im2col
/// (columns [k, m], output [n, m]; k = c kh kw, m = batch x positions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparseLayer {
    pub name: &'static str,
    pub n: usize,
    pub k: usize,
    /// Rows of x: the batch, or the batch times the output positions.
    pub m: usize,
    pub conv: Option<Conv2dGeometry>,
}

impl SparseLayer {
    pub fn linear(name: &'static str, n: usize, k: usize, batch: usize) -> SparseLayer {
        SparseLayer { name, n, k, m: batch, conv: None }
    }

    pub fn conv(name: &'static str, out: usize, g: Conv2dGeometry) -> SparseLayer {
        SparseLayer { name, n: out, k: g.patch(), m: g.positions(), conv: Some(g) }
    }

    fn layout(&self) -> ActivationLayout {
        if self.conv.is_some() {
            ActivationLayout::CONV
        } else {
            ActivationLayout::LINEAR
        }
    }
}

/// BSR at a block size and share of kept blocks, or the dense kernel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SparseFormat {
    Dense,
    Bsr { block: usize, density: f64 },
}

pub fn sparse_id(layer: &SparseLayer, pass: ConvPass, format: SparseFormat) -> String {
    let kind = if layer.conv.is_some() { "bsr_conv2d" } else { "bsr_linear" };
    let f = match format {
        SparseFormat::Dense => "dense".to_string(),
        SparseFormat::Bsr { block, density } => format!("b{block}/d{density:.2}"),
    };
    format!("{kind}/{}/{f}/{}", pass.name(), layer.name)
}

/// A mask keeping `round(density * blocks)` blocks (at least one) chosen at random.
fn block_mask(n: usize, k: usize, block: usize, density: f64, seed: u64) -> Vec<f32> {
    let (rows, cols) = (n.div_ceil(block), k.div_ceil(block));
    let total = rows * cols;
    let kept = ((density * total as f64).round() as usize).clamp(1, total);
    let mut keep = vec![false; total];
    for b in sample(&mut rand::rngs::StdRng::seed_from_u64(seed), total, kept) {
        keep[b] = true;
    }
    (0..n * k).map(|i| keep[(i / k / block) * cols + (i % k) / block] as u32 as f32).collect()
}

pub async fn sparse_entry(gpu: &Gpu, layer: SparseLayer, pass: ConvPass, format: SparseFormat, runs: usize) -> Result<EntryResult> {
    let id = sparse_id(&layer, pass, format);
    let SparseLayer { n, k, m, .. } = layer;
    let layout = layer.layout();
    let mask = match format {
        SparseFormat::Dense => vec![1.0; n * k],
        SparseFormat::Bsr { block, density } => block_mask(n, k, block, density, 11),
    };
    let w = reference::apply_mask(&mask, &random(n * k, 12));
    let gw = gpu.upload(&w, &[n, k]);
    let bsr = match format {
        SparseFormat::Dense => None,
        SparseFormat::Bsr { block, .. } => Some(Bsr::from_mask(gpu, &gpu.upload(&mask, &[n, k]), &gw, n, k, block).await?),
    };
    // The layer's input: x [m, k] for a linear layer, images for a convolution (then x is
    // their im2col columns [k, m]).
    let input = random(layer.conv.map_or(m * k, |g| g.n * g.c * g.h * g.w), 13);
    let x = match &layer.conv {
        Some(g) => reference::im2col(g, &input),
        None => input.clone(),
    };
    let dy = random(m * n, 14);
    let (g_input, gdy) = (gpu.upload(&input, &[input.len()]), gpu.upload(&dy, &[m * n]));
    // A block-sparse convolution reads only the active patch rows of its columns.
    let active = bsr.as_ref().filter(|_| layer.conv.is_some());
    let col_rows = active.map_or(k, |b| b.active.count * b.block);
    let cols = gpu.empty(&[(col_rows * m).max(1)]);
    let im2col = || match (&layer.conv, active) {
        (Some(g), Some(b)) => kernels::im2col_rows(gpu, g, &g_input, &b.active.rows, col_rows, &cols),
        (Some(g), None) => kernels::im2col(gpu, g, &g_input, &cols),
        (None, _) => {}
    };
    // x as the products read it: the columns (made once here for the weight gradient's
    // entry, inside the timed pass for the forward), or the linear input itself.
    let gx = if layer.conv.is_some() { im2col(); cols.clone() } else { g_input.clone() };
    let out_len = match pass {
        ConvPass::Forward => m * n,
        ConvPass::BackwardData => input.len(),
        ConvPass::BackwardWeight => n * k,
    };
    // The dense layer's pass, on all of the columns: the entry itself for the dense format,
    // and the reference a block-sparse entry is timed against.
    let full = |rows: usize| gpu.empty(&[(rows * m).max(1)]);
    let (dense_x, dense_dcols) = match (&layer.conv, &bsr) {
        (Some(g), Some(_)) => {
            let c = full(k);
            kernels::im2col(gpu, g, &g_input, &c);
            (c, full(k))
        }
        (Some(_), None) => (gx.clone(), full(k)),
        (None, _) => (gx.clone(), full(1)),
    };
    let dense_out = gpu.empty(&[out_len]);
    let dense_run = || match (pass, &layer.conv) {
        (ConvPass::Forward, Some(g)) => {
            kernels::im2col(gpu, g, &g_input, &dense_x);
            dense_pass(gpu, &gw, pass, true, &dense_x, &gdy, &dense_out, m, n, k);
        }
        (ConvPass::BackwardData, Some(g)) => {
            dense_pass(gpu, &gw, pass, true, &dense_x, &gdy, &dense_dcols, m, n, k);
            kernels::col2im(gpu, g, &dense_dcols, &dense_out);
        }
        (_, conv) => dense_pass(gpu, &gw, pass, conv.is_some(), &dense_x, &gdy, &dense_out, m, n, k),
    };
    let out = if bsr.is_some() { gpu.empty(&[out_len]) } else { dense_out.clone() };
    let dcols = gpu.empty(&[(col_rows * m).max(1)]);
    let sparse_run = |b: &Bsr| match (pass, &layer.conv) {
        (ConvPass::Forward, Some(_)) => {
            im2col();
            kernels::bsr_conv_forward(gpu, &gx, b, &out, m);
        }
        (ConvPass::BackwardData, Some(g)) => {
            kernels::bsr_conv_backward_data(gpu, &gdy, b, &dcols, m);
            kernels::col2im_rows(gpu, g, &dcols, &b.active.pos, &out);
        }
        (ConvPass::BackwardWeight, Some(_)) => kernels::bsr_conv_weight_grad(gpu, &gdy, &gx, b, &out, m),
        (_, None) => sparse_pass(gpu, b, pass, layout, &gx, &gdy, &out, m),
    };
    let run = || match &bsr {
        Some(b) => sparse_run(b),
        None => dense_run(),
    };
    run();
    let got = gpu.read_f32(&out).await?;
    let want = match pass {
        ConvPass::Forward => reference::weight_product(&x, &w, m, n, k, layout),
        ConvPass::BackwardData => {
            let dx = reference::weight_product_t(&dy, &w, m, n, k, layout);
            match &layer.conv {
                Some(g) => reference::col2im(g, &dx),
                None => dx,
            }
        }
        ConvPass::BackwardWeight => reference::apply_mask(&mask, &reference::weight_product_grad(&dy, &x, m, n, k, layout)),
    };
    let reduction = match pass {
        ConvPass::Forward => k,
        ConvPass::BackwardData => n * layer.conv.map_or(1, |g| g.kh * g.kw),
        ConvPass::BackwardWeight => m,
    };
    if let Some(why) = mismatch("output", &got, &want, 1e-5 * (reduction as f32).sqrt()) {
        return Ok(failed(id, why));
    }
    // A block-sparse pass is timed against the dense one, run for run.
    let (t, versus) = match &bsr {
        None => (super::time_async(gpu, 2, runs, run).await?, None),
        Some(_) => {
            let (t, dense_t, speedup) = super::time_paired(gpu, 2, runs, run, dense_run).await?;
            (t, Some(Versus { reference: sparse_id(&layer, pass, SparseFormat::Dense), reference_median_ms: dense_t.median_ms, speedup }))
        }
    };
    // Work actually done: the kept blocks' share of the dense product, and the bytes read
    // and written once (weights as stored, activations in, result out).
    let (share, weight_bytes) = match &bsr {
        Some(b) => (b.n_blocks as f64 * (b.block * b.block) as f64 / (n * k) as f64, b.n_blocks * (b.block * b.block * 4 + 8)),
        None => (1.0, n * k * 4),
    };
    let act_bytes = 4 * match pass {
        ConvPass::Forward => m * k + m * n,
        ConvPass::BackwardData => m * n + m * k,
        ConvPass::BackwardWeight => m * n + m * k + n * k,
    };
    let mut r = result(id, t, 2.0 * share * (m * n * k) as f64, (weight_bytes + act_bytes) as f64);
    r.versus = versus;
    Ok(r)
}

#[allow(clippy::too_many_arguments)]
fn sparse_pass(gpu: &Gpu, b: &Bsr, pass: ConvPass, layout: ActivationLayout, x: &Tensor, dy: &Tensor, out: &Tensor, m: usize) {
    match pass {
        ConvPass::Forward => kernels::bsr_matmul(gpu, x, b, out, m, layout),
        ConvPass::BackwardData => kernels::bsr_matmul_t(gpu, dy, b, out, m, layout),
        ConvPass::BackwardWeight => kernels::bsr_weight_grad(gpu, dy, x, b, out, m, layout),
    }
}

/// The products the model runs with dense weights (see `nn::Model`).
#[allow(clippy::too_many_arguments)]
fn dense_pass(gpu: &Gpu, w: &Tensor, pass: ConvPass, conv: bool, x: &Tensor, dy: &Tensor, out: &Tensor, m: usize, n: usize, k: usize) {
    use MatmulForm::*;
    match (pass, conv) {
        (ConvPass::Forward, false) => kernels::matmul(gpu, NT, x, w, out, m, n, k, false),
        (ConvPass::Forward, true) => kernels::matmul(gpu, NN, w, x, out, n, m, k, false),
        (ConvPass::BackwardData, false) => kernels::matmul(gpu, NN, dy, w, out, m, k, n, false),
        (ConvPass::BackwardData, true) => kernels::matmul(gpu, TN, w, dy, out, k, m, n, false),
        (ConvPass::BackwardWeight, false) => kernels::matmul(gpu, TN, dy, x, out, n, k, m, false),
        (ConvPass::BackwardWeight, true) => kernels::matmul(gpu, NT, dy, x, out, n, k, m, false),
    }
}
