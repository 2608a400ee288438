// Building the block-sparse (BSR) structure of a weight matrix [N, K] on the GPU from a mask
// (or from the weights themselves): a block is kept when any of its elements is nonzero.
// The layout is described in bsr.wgsl. Order of launches:
//   block_flags  flags[r * Q + q] = 1 for every kept block
//   count_scan   row_ptr (and, with BY_COLUMN, col_ptr): exclusive sums of kept blocks
//   (the launcher reads nnzb = row_ptr[R] back to size the block arrays)
//   fill_rows    col_idx, col_compact, block_row, block_map (row-order ids)
//   fill_cols    row_idx, col_pos (the column-order list, and where each row-order id sits in it)

override B: u32 = 32u;
// Pruning tiles (block_norm_keys, expand_block_mask) are B x BW: BW = 0 means square tiles,
// BW = K whole rows (output channels).
override BW: u32 = 0u;
// count_scan counts per block column rather than per block row.
override BY_COLUMN: bool = false;

// n, k: the dense shape. rows, cols: block rows R and block columns Q.
struct Params { n: u32, k: u32, rows: u32, cols: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> flags: array<u32>;
@group(0) @binding(3) var<storage, read> flags_in: array<u32>;
@group(0) @binding(4) var<storage, read_write> ptr_out: array<u32>;
@group(0) @binding(5) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(6) var<storage, read> col_ptr: array<u32>;
@group(0) @binding(7) var<storage, read_write> col_idx: array<u32>;
@group(0) @binding(8) var<storage, read_write> block_row: array<u32>;
@group(0) @binding(9) var<storage, read_write> block_map: array<u32>;
@group(0) @binding(10) var<storage, read_write> row_idx: array<u32>;
@group(0) @binding(11) var<storage, read_write> col_pos: array<u32>;
@group(0) @binding(12) var<storage, read> block_map_in: array<u32>;
// Rank of each block column among those with a kept block (NONE for the others), and the
// kept blocks' column as that rank: their inner index into im2col columns restricted to the
// rows that kept blocks read.
@group(0) @binding(17) var<storage, read> col_rank: array<u32>;
@group(0) @binding(18) var<storage, read_write> col_compact: array<u32>;

const NONE: u32 = 0xffffffffu;
const WG: u32 = 256u;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

// One invocation per block: is any element of block (r, q) nonzero?
@compute @workgroup_size(256)
fn block_flags(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
    let b = flat(wg, nwg, li);
    if (b >= p.rows * p.cols) { return; }
    let n0 = (b / p.cols) * B;
    let k0 = (b % p.cols) * B;
    var kept = 0u;
    for (var n = n0; n < min(n0 + B, p.n); n++) {
        for (var k = k0; k < min(k0 + B, p.k); k++) {
            kept |= u32(src[n * p.k + k] != 0.0);
        }
    }
    flags[b] = kept;
}

var<workgroup> scan: array<u32, WG>;

// One workgroup: ptr_out[0] = 0 and ptr_out[i + 1] = kept blocks in block rows (or columns)
// 0..=i, 256 lines at a time with a running carry.
@compute @workgroup_size(256)
fn count_scan(@builtin(local_invocation_index) li: u32) {
    var lines = p.rows;
    var along = p.cols;
    if (BY_COLUMN) { lines = p.cols; along = p.rows; }
    if (li == 0u) { ptr_out[0] = 0u; }
    var carry = 0u;
    for (var base = 0u; base < lines; base += WG) {
        let line = base + li;
        var count = 0u;
        if (line < lines) {
            for (var j = 0u; j < along; j++) {
                if (BY_COLUMN) { count += flags_in[j * p.cols + line]; } else { count += flags_in[line * p.cols + j]; }
            }
        }
        // Inclusive Hillis-Steele scan of the 256 counts.
        scan[li] = count;
        workgroupBarrier();
        for (var off = 1u; off < WG; off *= 2u) {
            var v = scan[li];
            if (li >= off) { v += scan[li - off]; }
            workgroupBarrier();
            scan[li] = v;
            workgroupBarrier();
        }
        if (line < lines) { ptr_out[line + 1u] = carry + scan[li]; }
        carry += scan[WG - 1u];
        workgroupBarrier();
    }
}

// One invocation per block row: list its kept blocks in column order.
@compute @workgroup_size(256)
fn fill_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let r = flat(wg, nwg, li);
    if (r >= p.rows) { return; }
    var at = row_ptr[r];
    for (var q = 0u; q < p.cols; q++) {
        let b = r * p.cols + q;
        if (flags_in[b] != 0u) {
            col_idx[at] = q;
            col_compact[at] = col_rank[q];
            block_row[at] = r;
            block_map[b] = at;
            at++;
        } else {
            block_map[b] = NONE;
        }
    }
}

// One invocation per block column: list its kept blocks in row order, and tell each block
// (by row-order id) where it sits in that list.
@compute @workgroup_size(256)
fn fill_cols(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let q = flat(wg, nwg, li);
    if (q >= p.cols) { return; }
    var at = col_ptr[q];
    for (var r = 0u; r < p.rows; r++) {
        let id = block_map_in[r * p.cols + q];
        if (id != NONE) {
            row_idx[at] = r;
            col_pos[id] = at;
            at++;
        }
    }
}

// ---- block pruning --------------------------------------------------------------------------

@group(0) @binding(14) var<storage, read_write> keys_out: array<u32>;
@group(0) @binding(15) var<storage, read> block_keep: array<f32>;
@group(0) @binding(16) var<storage, read_write> mask_out: array<f32>;

fn tile_width() -> u32 {
    return select(BW, B, BW == 0u);
}

// keys_out[b] orders like the mean square of block b's weights (src) over its elements inside
// [N, K], and is never 0 (select.wgsl's "never choose"): the score magnitude pruning of whole
// blocks ranks by.
@compute @workgroup_size(256)
fn block_norm_keys(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    let b = flat(wg, nwg, li);
    if (b >= p.rows * p.cols) { return; }
    let bw = tile_width();
    let n0 = (b / p.cols) * B;
    let k0 = (b % p.cols) * bw;
    let n1 = min(n0 + B, p.n);
    let k1 = min(k0 + bw, p.k);
    var s = 0.0;
    for (var n = n0; n < n1; n++) {
        for (var k = k0; k < k1; k++) {
            let v = src[n * p.k + k];
            s += v * v;
        }
    }
    s /= f32((n1 - n0) * (k1 - k0));
    // Non-negative floats order like their bits; NaN and overflow count as infinity.
    keys_out[b] = min(bitcast<u32>(s), 0x7f800000u) + 1u;
}

// The element mask [N, K] from a 0/1 mask over tiles.
@compute @workgroup_size(256)
fn expand_block_mask(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n * p.k) { return; }
    let n = i / p.k;
    let k = i % p.k;
    mask_out[i] = block_keep[(n / B) * p.cols + k / tile_width()];
}
