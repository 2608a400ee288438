// Exact top-k selection on the GPU, for pruning: mask[i] = 1 for the k largest keys, ties
// broken towards the lower index, so exactly k elements are kept and the result does not
// depend on the adapter. Keys are u32 whose order is the order to select by (`magnitude_keys`
// makes them from |value|; 0 marks an element that must never be chosen).
//
// Radix select, 8 bits per round from the top: `radix_histogram` counts the candidates
// (keys sharing the prefix found so far) per next digit, `radix_pick` finds the digit where
// the k-th largest lies. After 4 rounds the prefix is the k-th largest key T. Then
// `mark_above` keeps every key > T and counts, per workgroup, the keys equal to T;
// `scan_counts` turns those counts into offsets; `mark_ties` keeps the first k_left of them.

struct Params { n: u32, shift: u32, _p0: u32, _p1: u32 }

// The search, in one small buffer so no round needs the CPU.
struct State {
    prefix: u32,   // digits of T found so far (lower bits zero)
    k_left: u32,   // how many of the keys matching the prefix are still to choose
    _p0: u32,
    _p1: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> hist: array<atomic<u32>, 256>;
@group(0) @binding(3) var<storage, read_write> state: State;
@group(0) @binding(4) var<storage, read_write> mask: array<f32>;
@group(0) @binding(5) var<storage, read_write> counts: array<u32>;   // per workgroup
@group(0) @binding(6) var<storage, read> values: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_keys: array<u32>;

var<workgroup> local_hist: array<atomic<u32>, 256>;
var<workgroup> scan: array<u32, WG>;

fn flat(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG + li;
}

fn group_index(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wg.y * nwg.x + wg.x;
}

// out_keys[i] = the bits of |values[i]| (for non-negative floats the bit pattern orders like
// the value; NaN counts as infinity), plus one so that 0 stays free for "never choose".
@compute @workgroup_size(256)
fn magnitude_keys(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    out_keys[i] = min(bitcast<u32>(abs(values[i])), 0x7f800000u) + 1u;
}

// Restricting a selection to part of a tensor: keys[i] = 0 (never chosen) where the mask
// says the element is not a candidate. WHERE 1: candidates are the active (mask != 0)
// elements; WHERE 2: the inactive ones. Prune-and-regrow drops among the active weights and
// grows among the inactive ones.
override WHERE: u32 = 1u;

@compute @workgroup_size(256)
fn restrict_keys(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    if (i >= p.n) { return; }
    let on = mask[i] != 0.0;
    if (on != (WHERE == 1u)) { out_keys[i] = 0u; }
}

// The bits above `shift + 8` of a key, which candidates must share with the prefix.
fn is_candidate(key: u32) -> bool {
    let above = p.shift + 8u;
    if (above >= 32u) { return true; }
    return (key >> above) == (state.prefix >> above);
}

@compute @workgroup_size(256)
fn radix_histogram(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) li: u32) {
    atomicStore(&local_hist[li], 0u);
    workgroupBarrier();
    let i = flat(wg, nwg, li);
    if (i < p.n) {
        let key = keys[i];
        if (is_candidate(key)) { atomicAdd(&local_hist[(key >> p.shift) & 255u], 1u); }
    }
    workgroupBarrier();
    let c = atomicLoad(&local_hist[li]);
    if (c > 0u) { atomicAdd(&hist[li], c); }
}

// One invocation: walk the digits from the top until the k_left-th largest is reached, and
// clear the histogram for the next round.
@compute @workgroup_size(1)
fn radix_pick() {
    var above = 0u;
    var digit = 0u;
    var found = false;
    for (var d = 255i; d >= 0; d--) {
        let c = atomicLoad(&hist[u32(d)]);
        if (!found && above + c >= state.k_left) {
            digit = u32(d);
            found = true;
        } else if (!found) {
            above += c;
        }
        atomicStore(&hist[u32(d)], 0u);
    }
    state.prefix = state.prefix | (digit << p.shift);
    state.k_left = state.k_left - above;
}

// Workgroup-wide exclusive prefix sum of `v`; every invocation gets its own offset, and the
// total is left in scan[WG - 1] + v of the last invocation (returned as .y).
fn exclusive_scan(li: u32, v: u32) -> vec2<u32> {
    scan[li] = v;
    workgroupBarrier();
    for (var s = 1u; s < WG; s <<= 1u) {
        var add = 0u;
        if (li >= s) { add = scan[li - s]; }
        workgroupBarrier();
        scan[li] += add;
        workgroupBarrier();
    }
    let inclusive = scan[li];
    let total = scan[WG - 1u];
    workgroupBarrier();
    return vec2<u32>(inclusive - v, total);
}

@compute @workgroup_size(256)
fn mark_above(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    let t = state.prefix;
    var tie = 0u;
    if (i < p.n) {
        let key = keys[i];
        mask[i] = select(0.0, 1.0, key > t && t > 0u);
        tie = u32(key == t && t > 0u);
    }
    let s = exclusive_scan(li, tie);
    if (li == 0u) { counts[group_index(wg, nwg)] = s.y; }
}

// One workgroup: counts[g] becomes the number of ties in groups before g (p.n = groups).
@compute @workgroup_size(256)
fn scan_counts(@builtin(local_invocation_index) li: u32) {
    var carry = 0u;
    for (var base = 0u; base < p.n; base += WG) {
        let g = base + li;
        var c = 0u;
        if (g < p.n) { c = counts[g]; }
        let s = exclusive_scan(li, c);
        if (g < p.n) { counts[g] = carry + s.x; }
        carry += s.y;
    }
}

@compute @workgroup_size(256)
fn mark_ties(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
    let i = flat(wg, nwg, li);
    let t = state.prefix;
    var tie = 0u;
    if (i < p.n) { tie = u32(keys[i] == t && t > 0u); }
    let s = exclusive_scan(li, tie);
    if (tie == 1u && counts[group_index(wg, nwg)] + s.x < state.k_left) { mask[i] = 1.0; }
}
