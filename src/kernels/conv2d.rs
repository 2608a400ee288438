use super::shaders::CONV2D;
use crate::gpu::{grid_1d, Gpu, Kernel, Tensor};

/// The shape of one conv2d application: input [n, c, h, w], kernel kh x kw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl Conv2dGeometry {
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }
    /// Rows of the im2col matrix: c * kh * kw.
    pub fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the im2col matrix: n * oh * ow.
    pub fn positions(&self) -> usize {
        self.n * self.oh() * self.ow()
    }
}

/// conv2d.wgsl's parameters (conv_direct.wgsl's too).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
    rows: u32,
    _pad: u32,
    /// conv_direct's windowed kernels: the first image of the launch and where the window's
    /// images start in it (elements).
    first: u32,
    shift: u32,
    /// conv_direct's weight gradient: the launch's first lane of the partial sums.
    lane0: u32,
    _q: u32,
}

impl Params {
    /// The geometry's parameters with `rows` set (im2col's rows, conv_direct's channels).
    pub(super) fn with_rows(g: &Conv2dGeometry, rows: usize) -> Self {
        Params { rows: rows as u32, ..Params::from(g) }
    }

    /// A windowed launch's first image and where the window's images start (elements).
    pub(super) fn with_window(self, first: usize, shift: usize) -> Self {
        Params { first: first as u32, shift: shift as u32, ..self }
    }

    /// conv_direct's weight gradient: the launch's first lane of the partial sums.
    pub(super) fn with_lane0(self, lane0: usize) -> Self {
        Params { lane0: lane0 as u32, ..self }
    }

    /// The last field set: conv_direct's weight gradient reads its number of lanes there.
    pub(super) fn with_lanes(self, lanes: usize) -> Self {
        Params { _pad: lanes as u32, ..self }
    }
}

impl From<&Conv2dGeometry> for Params {
    fn from(g: &Conv2dGeometry) -> Self {
        Params {
            n: g.n as u32,
            c: g.c as u32,
            h: g.h as u32,
            w: g.w as u32,
            kh: g.kh as u32,
            kw: g.kw as u32,
            stride: g.stride as u32,
            pad: g.pad as u32,
            oh: g.oh() as u32,
            ow: g.ow() as u32,
            rows: 0,
            _pad: 0,
            first: 0,
            shift: 0,
            lane0: 0,
            _q: 0,
        }
    }
}

/// Elements per invocation of im2col and col2im (`RUN` in the shader).
const RUN: usize = 32;

fn stride(g: &Conv2dGeometry) -> [(&'static str, f64); 1] {
    [("STRIDE", g.stride as f64)]
}

/// cols [c*kh*kw, n*oh*ow] from x [n, c, h, w].
pub fn im2col(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, cols: &Tensor) {
    let k = Kernel { shader: &CONV2D, entry: "im2col" };
    // Binding 3 (the row map) is not read without ROW_MAP; x stands in.
    gpu.launch(&k, &stride(g), &Params::from(g), &[x, cols, x], grid_1d(g.patch() * g.n * g.oh() * g.ow().div_ceil(RUN)));
}

/// cols [n_rows, n*oh*ow]: row i is patch row `rows[i]` of `im2col`, or zeros where it is
/// `u32::MAX` (the rows a block-sparse weight matrix reads, padded to whole blocks).
pub fn im2col_rows(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, rows: &Tensor, n_rows: usize, cols: &Tensor) {
    assert!(rows.numel() >= n_rows, "im2col_rows: {} row indices for {n_rows} rows", rows.numel());
    assert!(cols.numel() >= n_rows * g.positions(), "im2col_rows: cols smaller than [{n_rows}, {}]", g.positions());
    let k = Kernel { shader: &CONV2D, entry: "im2col" };
    let p = Params::with_rows(g, n_rows);
    gpu.launch(&k, &[("STRIDE", g.stride as f64), ("ROW_MAP", 1.0)], &p, &[x, cols, rows], grid_1d(n_rows * g.n * g.oh() * g.ow().div_ceil(RUN)));
}

/// cols [keep*kh*kw, n*oh*ow]: for each image, the im2col rows of only the channels
/// `kept[img, ..]` (u32 [n, keep], winners-take-all's kept channels), in that order.
pub fn im2col_kept(gpu: &Gpu, g: &Conv2dGeometry, x: &Tensor, kept: &Tensor, keep: usize, cols: &Tensor) {
    let rows = keep * g.kh * g.kw;
    assert!(kept.numel() >= g.n * keep, "im2col_kept: {} kept channels for {} images of {keep}", kept.numel(), g.n);
    assert!(cols.numel() >= rows * g.positions(), "im2col_kept: cols smaller than [{rows}, {}]", g.positions());
    let k = Kernel { shader: &CONV2D, entry: "im2col" };
    let p = Params::with_rows(g, rows);
    gpu.launch(&k, &[("STRIDE", g.stride as f64), ("KEPT", 1.0)], &p, &[x, cols, kept], grid_1d(rows * g.n * g.oh() * g.ow().div_ceil(RUN)));
}

/// `col2im` from the rows of `im2col_kept` (dcols [keep*kh*kw, n*oh*ow]): writes the kept
/// channels `kept[img, ..]` of dx and leaves the others as they are (zero them first).
pub fn col2im_kept(gpu: &Gpu, g: &Conv2dGeometry, dcols: &Tensor, kept: &Tensor, keep: usize, dx: &Tensor) {
    let rows = keep * g.kh * g.kw;
    assert!(kept.numel() >= g.n * keep, "col2im_kept: {} kept channels for {} images of {keep}", kept.numel(), g.n);
    assert!(dcols.numel() >= rows * g.positions(), "col2im_kept: dcols smaller than [{rows}, {}]", g.positions());
    let k = Kernel { shader: &CONV2D, entry: "col2im" };
    let p = Params::with_rows(g, rows);
    gpu.launch(&k, &[("STRIDE", g.stride as f64), ("KEPT", 1.0)], &p, &[dcols, dx, kept], grid_1d(g.n * keep * g.h * g.w.div_ceil(RUN)));
}

/// `col2im` from the rows of `im2col_rows`: `pos[r]` (u32 [c*kh*kw]) is where patch row r sits
/// in dcols, `u32::MAX` for rows that are all zero.
pub fn col2im_rows(gpu: &Gpu, g: &Conv2dGeometry, dcols: &Tensor, pos: &Tensor, dx: &Tensor) {
    assert!(pos.numel() >= g.patch(), "col2im_rows: {} row positions for {} patch rows", pos.numel(), g.patch());
    let k = Kernel { shader: &CONV2D, entry: "col2im" };
    gpu.launch(&k, &[("STRIDE", g.stride as f64), ("ROW_MAP", 1.0)], &Params::from(g), &[dcols, dx, pos], grid_1d(g.n * g.c * g.h * g.w.div_ceil(RUN)));
}

/// dx [n, c, h, w] = the adjoint of im2col applied to dcols.
pub fn col2im(gpu: &Gpu, g: &Conv2dGeometry, dcols: &Tensor, dx: &Tensor) {
    let k = Kernel { shader: &CONV2D, entry: "col2im" };
    gpu.launch(&k, &stride(g), &Params::from(g), &[dcols, dx, dcols], grid_1d(g.n * g.c * g.h * g.w.div_ceil(RUN)));
}

fn permute(gpu: &Gpu, entry: &'static str, src: &Tensor, dst: &Tensor, n: usize, c: usize, hw: usize) {
    let g = Conv2dGeometry { n, c, h: hw, w: 1, kh: 1, kw: 1, stride: 1, pad: 0 };
    gpu.launch(&Kernel { shader: &CONV2D, entry }, &[], &Params::from(&g), &[src, dst], grid_1d(n * c * hw.div_ceil(RUN)));
}

/// [c, n, hw] -> [n, c, hw].
pub fn cnhw_to_nchw(gpu: &Gpu, src: &Tensor, dst: &Tensor, n: usize, c: usize, hw: usize) {
    permute(gpu, "cnhw_to_nchw", src, dst, n, c, hw);
}

/// [n, c, hw] -> [c, n, hw].
pub fn nchw_to_cnhw(gpu: &Gpu, src: &Tensor, dst: &Tensor, n: usize, c: usize, hw: usize) {
    permute(gpu, "nchw_to_cnhw", src, dst, n, c, hw);
}
