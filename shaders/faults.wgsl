// Fault injection into stored weights: every bit flips independently with probability `rate`
// (counter-based random numbers, so a seed reproduces a fault pattern exactly).
//
// flip_bits works on any 32-bit words (f32 weights as their bits, packed ternary codes,
// scales); flip_bits_f16 rounds f32 weights to f16 first and flips bits of the 16-bit values,
// as a model stored in half precision would see them, then widens them back. Nothing here
// computes with the faulty values as floats, so NaN patterns pass through unchanged.

struct Params { n: u32, seed: u32, rate: f32, _p0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> words: array<u32>;

// pcg and pcg_uniform01: shaders/common/pcg.wgsl, appended to this file when it is compiled.

// Uniform in [0, 1) for bit `bit` of word `i`.
fn uniform01(i: u32, bit: u32) -> f32 {
    return pcg_uniform01(p.seed, i, bit);
}

// The flip mask of `bits` bits for counter i.
fn flips(i: u32, bits: u32) -> u32 {
    var m = 0u;
    for (var b = 0u; b < bits; b++) {
        if (uniform01(i, b) < p.rate) { m |= 1u << b; }
    }
    return m;
}

@compute @workgroup_size(256)
fn flip_bits(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    words[i] ^= flips(i, 32u);
}

// f32 bits to f16 bits, rounding to nearest even (by hand: WGSL's pack2x16float needs a
// capability some adapters lack).
fn f16_from_f32(b: u32) -> u32 {
    let sign = (b >> 16u) & 0x8000u;
    let e = i32((b >> 23u) & 0xffu);
    let m = b & 0x7fffffu;
    if (e == 255) { return sign | 0x7c00u | select(0u, 0x200u | (m >> 13u), m != 0u); }
    let e16 = e - 112;
    if (e16 >= 31) { return sign | 0x7c00u; }
    if (e16 <= 0) {
        if (e16 < -10) { return sign; }
        // Subnormal: the 24-bit significand shifted into 10 bits.
        let full = m | 0x800000u;
        let shift = u32(14 - e16);
        var r = full >> shift;
        let rest = full & ((1u << shift) - 1u);
        let halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (r & 1u) == 1u)) { r += 1u; }
        return sign | r;
    }
    var h = (u32(e16) << 10u) | (m >> 13u);
    let rest = m & 0x1fffu;
    // A carry out of the significand moves into the exponent, as it should (up to infinity).
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
    return sign | h;
}

// f16 bits to f32 bits (NaNs quieted, as the `half` crate does).
fn f32_from_f16(h: u32) -> u32 {
    let sign = (h & 0x8000u) << 16u;
    let e = (h >> 10u) & 0x1fu;
    let m = h & 0x3ffu;
    if (e == 0u) { return sign | bitcast<u32>(f32(m) * (1.0 / 16777216.0)); }
    if (e == 31u) { return sign | select(0x7f800000u, 0x7fc00000u | (m << 13u), m != 0u); }
    return sign | ((e + 112u) << 23u) | (m << 13u);
}

// One invocation per pair of f32 values, which share one 32-bit draw of flips (n values; an
// odd last one is paired with nothing).
@compute @workgroup_size(256)
fn flip_bits_f16(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (2u * i >= p.n) { return; }
    let m = flips(i, 32u);
    words[2u * i] = f32_from_f16(f16_from_f32(words[2u * i]) ^ (m & 0xffffu));
    if (2u * i + 1u < p.n) {
        words[2u * i + 1u] = f32_from_f16(f16_from_f32(words[2u * i + 1u]) ^ (m >> 16u));
    }
}
