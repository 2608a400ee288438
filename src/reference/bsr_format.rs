//! References for `shaders/bsr_format.wgsl`: the block-sparse structure, built plainly from
//! the block flags, and the tile scores and masks of block pruning.

/// The structure arrays of `aer::kernels::Bsr`, as the GPU must build them.
#[derive(Debug, PartialEq, Eq)]
pub struct BsrStructure {
    pub row_ptr: Vec<u32>,
    pub col_idx: Vec<u32>,
    pub block_row: Vec<u32>,
    pub col_ptr: Vec<u32>,
    pub row_idx: Vec<u32>,
    /// Where each block (by row-order id) sits in the column-order list.
    pub col_pos: Vec<u32>,
}

/// Per block (row-major over the [ceil(n / b), ceil(k / b)] grid): does it hold a nonzero?
pub fn block_flags(mask: &[f32], n: usize, k: usize, b: usize) -> Vec<bool> {
    let (rows, cols) = (n.div_ceil(b), k.div_ceil(b));
    let mut flags = vec![false; rows * cols];
    for i in 0..n {
        for j in 0..k {
            if mask[i * k + j] != 0.0 {
                flags[(i / b) * cols + j / b] = true;
            }
        }
    }
    flags
}

pub fn bsr_structure(mask: &[f32], n: usize, k: usize, b: usize) -> BsrStructure {
    let (rows, cols) = (n.div_ceil(b), k.div_ceil(b));
    let flags = block_flags(mask, n, k, b);
    let mut s = BsrStructure { row_ptr: vec![0], col_idx: vec![], block_row: vec![], col_ptr: vec![0], row_idx: vec![], col_pos: vec![] };
    let mut id = vec![u32::MAX; rows * cols];
    for r in 0..rows {
        for q in 0..cols {
            if flags[r * cols + q] {
                id[r * cols + q] = s.col_idx.len() as u32;
                s.col_idx.push(q as u32);
                s.block_row.push(r as u32);
            }
        }
        s.row_ptr.push(s.col_idx.len() as u32);
    }
    s.col_pos = vec![0; s.col_idx.len()];
    for q in 0..cols {
        for r in 0..rows {
            if flags[r * cols + q] {
                s.col_pos[id[r * cols + q] as usize] = s.row_idx.len() as u32;
                s.row_idx.push(r as u32);
            }
        }
        s.col_ptr.push(s.row_idx.len() as u32);
    }
    s
}

/// `kernels::block_norm_keys`: per tile (rows x cols, row-major over [n, k]), the bits of the
/// mean square of its elements inside [n, k] (summed in f32 in row order, as the kernel does),
/// plus one.
pub fn block_norm_keys(w: &[f32], n: usize, k: usize, (th, tw): (usize, usize)) -> Vec<u32> {
    let (rows, cols) = (n.div_ceil(th), k.div_ceil(tw));
    (0..rows * cols)
        .map(|blk| {
            let (r, q) = (blk / cols, blk % cols);
            let (n1, k1) = (((r + 1) * th).min(n), ((q + 1) * tw).min(k));
            let mut s = 0f32;
            for i in r * th..n1 {
                for j in q * tw..k1 {
                    s += w[i * k + j] * w[i * k + j];
                }
            }
            let ms = s / ((n1 - r * th) * (k1 - q * tw)) as f32;
            ms.to_bits().min(0x7f80_0000) + 1
        })
        .collect()
}

/// `kernels::expand_block_mask`: element (i, j) takes the 0/1 of its tile.
pub fn expand_block_mask(keep: &[f32], n: usize, k: usize, (th, tw): (usize, usize)) -> Vec<f32> {
    let cols = k.div_ceil(tw);
    (0..n * k).map(|e| keep[(e / k / th) * cols + (e % k) / tw]).collect()
}
