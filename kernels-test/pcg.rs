//! shaders/common/pcg.wgsl (the PCG hash and uniform draws that corrupt, faults, learned_mask
//! and pgd share) against `reference::common::{pcg, uniform01}`, bit for bit, through a
//! test-only shader that appends the snippet as `kernels::shaders` does.

use crate::common::*;
use aer::gpu::{grid_1d, Kernel, Shader};
use aer::reference::common as reference;
use rand::Rng;

static PCG_TEST: Shader = Shader {
    name: "pcg_test",
    source: concat!(
        "struct Params { n: u32, seed: u32, stream: u32, _p0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> v: array<u32>;
@group(0) @binding(2) var<storage, read_write> hash: array<u32>;
@group(0) @binding(3) var<storage, read_write> draw: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let i = (wg.y * nwg.x + wg.x) * 256u + li;
    if (i >= p.n) { return; }
    hash[i] = pcg(v[i]);
    draw[i] = pcg_uniform01(p.seed, v[i], p.stream);
}
",
        include_str!("../shaders/common/pcg.wgsl"),
    ),
};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    seed: u32,
    stream: u32,
    _p0: u32,
}

/// (pcg(v), pcg_uniform01(seed, v, stream)) for every v, on the GPU.
fn run(v: &[u32], seed: u32, stream: u32) -> (Vec<u32>, Vec<f32>) {
    let (hash, draw) = (gpu().empty_u32(&[v.len()]), gpu().empty(&[v.len()]));
    let k = Kernel { shader: &PCG_TEST, entry: "main" };
    let params = Params { n: v.len() as u32, seed, stream, _p0: 0 };
    gpu().launch(&k, &[], &params, &[&upload_u32(v), &hash, &draw], grid_1d(v.len()));
    (read_u32(&hash), read(&draw))
}

/// Every input below 2^20, the edges of u32 (0, 1, powers of two and their neighbours,
/// u32::MAX) and random words; under a few seeds and streams, as the shaders draw them.
#[test]
fn pcg_matches_reference() {
    let mut v: Vec<u32> = (0..1u32 << 20).collect();
    for b in 0..32 {
        let p = 1u32 << b;
        v.extend([p - 1, p, p.wrapping_add(1), !p]);
    }
    v.extend([u32::MAX, u32::MAX - 1, 0x7fff_ffff, 0x8000_0000, 0xdead_beef, 747796405, 2891336453, 277803737]);
    let mut r = rng("pcg", 0);
    v.extend((0..100_000).map(|_| r.random::<u32>()));
    for (seed, stream) in [(0, 0), (1, 0), (7, 1), (u32::MAX, 2), (0x9e37_79b9, 31)] {
        let case = format!("seed {seed}, stream {stream}, {} inputs", v.len());
        let (hash, draw) = run(&v, seed, stream);
        assert_same("pcg", &case, &hash, &v.iter().map(|&x| reference::pcg(x)).collect::<Vec<_>>());
        // A 24-bit integer times 2^-24: exact in f32, so the bits must agree.
        let want: Vec<u32> = v.iter().map(|&x| (reference::uniform01(seed, x, stream) as f32).to_bits()).collect();
        assert_same("pcg_uniform01 bits", &case, &draw.iter().map(|d| d.to_bits()).collect::<Vec<_>>(), &want);
    }
}
