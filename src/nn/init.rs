//! Seeded initialisation: Kaiming (He) uniform for layers followed by ReLU, Glorot uniform for
//! the classifier, zero biases.

use rand::{Rng, SeedableRng};

/// `n` values uniform in [-bound, bound] from a generator seeded by (seed, layer name), so a
/// layer's initial weights do not depend on the other layers.
pub fn uniform(n: usize, bound: f32, seed: u64, name: &str) -> Vec<f32> {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ h);
    (0..n).map(|_| rng.random_range(-bound..=bound)).collect()
}

/// He uniform: keeps the activation variance through ReLU layers.
pub fn kaiming_bound(fan_in: usize) -> f32 {
    (6.0 / fan_in as f32).sqrt()
}

/// Glorot uniform: for the last, linear layer.
pub fn glorot_bound(fan_in: usize, fan_out: usize) -> f32 {
    (6.0 / (fan_in + fan_out) as f32).sqrt()
}
