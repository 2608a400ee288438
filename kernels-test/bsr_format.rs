//! bsr_format.wgsl against `reference::bsr_format`: the block-sparse structure built on the
//! GPU (block flags, counts and their scan, row and column lists), tile scores and the
//! expansion of a tile mask.

use crate::bsr::{build, masked_weights, Case};
use crate::common::*;
use aer::kernels::{self, Bsr, BSR_BLOCKS};
use aer::reference::bsr_format as reference;
use rand::Rng;

pub(crate) fn check_structure(bsr: &Bsr, mask: &[f32], c: &Case) {
    let want = reference::bsr_structure(mask, c.n, c.k, c.block);
    assert_eq!(bsr.n_blocks, want.col_idx.len(), "kept blocks; case {c:?}");
    let list = |t: &aer::gpu::Tensor| read_u32(t)[..bsr.n_blocks].to_vec();
    assert_same("row_ptr", c, &read_u32(&bsr.row_ptr), &want.row_ptr);
    assert_same("col_ptr", c, &read_u32(&bsr.col_ptr), &want.col_ptr);
    assert_same("col_idx", c, &list(&bsr.col_idx), &want.col_idx);
    assert_same("block_row", c, &list(&bsr.block_row), &want.block_row);
    assert_same("row_idx", c, &list(&bsr.row_idx), &want.row_idx);
    assert_same("col_pos", c, &list(&bsr.col_pos), &want.col_pos);
    let empty = |p: &[u32]| p.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!((bsr.empty_rows, bsr.empty_cols), (empty(&want.row_ptr), empty(&want.col_ptr)), "empty panels; case {c:?}");
}

/// The structure of every block size at densities from no block at all to every block, on
/// shapes off the block, with empty block rows and columns.
#[test]
fn bsr_structure_matches_reference() {
    let mut i = 0;
    for block in BSR_BLOCKS {
        for (j, density) in [0.0, 0.05, 0.25, 1.0].into_iter().enumerate() {
            let c = Case { m: 1, n: 45, k: 70, block, density, layout: LAYOUTS[0], empty_rows: j == 1 };
            let (mask, w) = masked_weights(&mut rng("bsr_structure", i), &c);
            check_structure(&build(&mask, &w, &c), &mask, &c);
            i += 1;
        }
    }
}

/// Tile scores for block and channel pruning and the expansion of a tile mask, on shapes off
/// the tile: square blocks, whole rows (channels), and thin tiles. The squares of multiples of
/// 1/64 sum exactly; the final division may differ by the few ULP Vulkan allows, so keys (the
/// bits of the mean square) may differ by that many.
#[test]
fn block_norm_keys_and_expand_block_mask() {
    let cases = [(5, 7, (4, 4)), (33, 17, (8, 8)), (40, 400, (16, 16)), (10, 256, (32, 32)), (1, 1, (4, 4)), (32, 400, (1, 400)), (7, 33, (1, 33)), (9, 20, (3, 5))];
    for (i, (n, k, tile)) in cases.into_iter().enumerate() {
        let mut r = rng("block_norm_keys", i);
        let w = dyadic(&mut r, n * k);
        let tiles = n.div_ceil(tile.0) * k.div_ceil(tile.1);
        let keys = gpu().empty_u32(&[tiles]);
        kernels::block_norm_keys(gpu(), &upload(&w), n, k, tile, &keys);
        let want = reference::block_norm_keys(&w, n, k, tile);
        let got = read_u32(&keys);
        let case = (n, k, tile);
        assert_eq!(got.len(), want.len(), "{case:?}");
        for (b, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(g.abs_diff(*w) <= 4, "block_norm_keys tile {b}: gpu {g:#x}, ref {w:#x}; case {case:?}");
        }
        let keep: Vec<f32> = (0..tiles).map(|_| r.random_bool(0.4) as u32 as f32).collect();
        let mask = gpu().full(&[n * k], f32::NAN);
        kernels::expand_block_mask(gpu(), &upload(&keep), n, k, tile, &mask);
        assert_close("expand_block_mask", &case, &read(&mask), &reference::expand_block_mask(&keep, n, k, tile), Tol::EXACT);
    }
}
