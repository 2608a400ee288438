
// ---- shaders/common/pcg.wgsl (appended by src/kernels/shaders.rs) ----------------------------

// PCG hash (O'Neill), for counter-based random numbers the CPU reference reproduces exactly
// (`aer::reference::common::pcg`).
fn pcg(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Uniform in [0, 1) for counter `i` of stream `stream` under `seed`: the hash's top 24 bits,
// exact in f32 (`aer::reference::common::uniform01`).
fn pcg_uniform01(seed: u32, i: u32, stream: u32) -> f32 {
    return f32(pcg(i ^ pcg(seed ^ pcg(stream))) >> 8u) * (1.0 / 16777216.0);
}
