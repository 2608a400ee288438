
// ---- shaders/common/ternary_finish.wgsl (appended by src/kernels/shaders.rs) -----------------

// The epilogue shaders/ternary.wgsl and shaders/ternary_f16.wgsl share. The including file
// declares `p` (with `n`), `scale_pos`, `scale_neg`, the override ASYMMETRIC and
// `store_y(row, col, v: f32)`.
//
// Row `row` of y at columns col..col+3 from the column sums (signed s, unsigned a): with one
// scale per sign, y = cs * s + ca * a, cs = (scale_pos + scale_neg) / 2 and
// ca = (scale_pos - scale_neg) / 2; with one scale (not ASYMMETRIC), y = scale_pos * s.
fn finish(row: u32, col: u32, s: vec4<f32>, a: vec4<f32>) {
    for (var j = 0u; j < 4u; j++) {
        let c = col + j;
        if (c < p.n) {
            var v = scale_pos[c] * s[j];
            if (ASYMMETRIC) {
                v = 0.5 * (scale_pos[c] + scale_neg[c]) * s[j] + 0.5 * (scale_pos[c] - scale_neg[c]) * a[j];
            }
            store_y(row, c, v);
        }
    }
}
