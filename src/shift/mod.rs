//! Corruption benchmarks (`aer shift`): accuracy under the common corruptions of MNIST-C (Mu &
//! Gilmer, 2019) for greyscale digits and CIFAR-10-C (Hendrycks & Dietterich, 2019) for colour
//! images, at five severities, generated on the GPU from a seed (docs/shift.md).
//!
//! Images are f32 [n, c, h, w] in [0, 1], as `data::Dataset::gather` gives them to the models;
//! every corruption maps them to images in [0, 1] and depends only on (seed, example index,
//! severity). The corruptions live in two files of the same shape: `pixel` (noise, tone,
//! patterns, edges, pixelate, JPEG) and `spatial` (blurs, geometric and weather corruptions).

mod evaluate;
pub mod pixel;
pub mod spatial;

pub use evaluate::{chunk_seed, corrupted_copy, evaluate_shift, ShiftConfig, ShiftResult, CHUNK, GRID_EXAMPLES};

use crate::error::{AerError, Result};
use crate::gpu::{Gpu, Tensor};

/// The published corruption sets. A name of either set that neither file implements is left
/// out of `Set::names`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Set {
    /// MNIST-C, for greyscale images (one channel).
    MnistC,
    /// CIFAR-10-C, for colour images (three channels).
    Cifar10C,
}

/// MNIST-C's 15 corruptions in the published order (corruptions.py's CORRUPTIONS).
const MNIST_C: &[&str] = &[
    "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale", "rotate", "brightness", "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag", "canny_edges",
];
/// CIFAR-10-C's 15 corruptions in the published order (noise, blur, weather, digital).
const CIFAR_10_C: &[&str] = &[
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic", "pixelate", "jpeg",
];

impl Set {
    /// The set for images with `channels` channels: MNIST-C for one, CIFAR-10-C otherwise.
    pub fn for_channels(channels: usize) -> Set {
        if channels == 1 {
            Set::MnistC
        } else {
            Set::Cifar10C
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Set::MnistC => "MNIST-C",
            Set::Cifar10C => "CIFAR-10-C",
        }
    }

    /// The set's corruptions that this build implements, in the published order.
    pub fn names(self) -> Vec<&'static str> {
        let (published, own): (&[&str], [&[&str]; 2]) = match self {
            Set::MnistC => (MNIST_C, [pixel::GREY, spatial::GREY]),
            Set::Cifar10C => (CIFAR_10_C, [pixel::COLOUR, spatial::COLOUR]),
        };
        published.iter().copied().filter(|n| own.iter().any(|o| o.contains(n))).collect()
    }

    /// The set's published corruptions that this build leaves out.
    pub fn missing(self) -> Vec<&'static str> {
        let names = self.names();
        let published = if self == Set::MnistC { MNIST_C } else { CIFAR_10_C };
        published.iter().copied().filter(|n| !names.contains(n)).collect()
    }

    fn other(self) -> Set {
        if self == Set::MnistC {
            Set::Cifar10C
        } else {
            Set::MnistC
        }
    }
}

/// Check a request against `set`: every name one of its corruptions (an error lists them, and
/// says when the name belongs to the other set), every severity in 1 to 5.
pub fn check_request(set: Set, names: &[String], severities: &[u32]) -> Result<()> {
    if names.is_empty() || severities.is_empty() {
        return Err(AerError::Invalid("--corruptions and --severities need at least one value each".into()));
    }
    for name in names {
        if set.names().contains(&name.as_str()) {
            continue;
        }
        let known = set.names().join(", ");
        return Err(AerError::Invalid(if set.other().names().contains(&name.as_str()) {
            format!("corruption '{name}' belongs to {} ({} images), but this data has {} images: use one of {}'s: {known}", set.other().label(), kind(set.other()), kind(set), set.label())
        } else {
            format!("unknown corruption '{name}'; {} ({} images) has: {known}", set.label(), kind(set))
        }));
    }
    if let Some(s) = severities.iter().find(|s| !(1..=5).contains(*s)) {
        return Err(AerError::Invalid(format!("severity {s} is outside 1-5: give severities from 1 (mildest) to 5 (strongest), e.g. --severities 1,3,5")));
    }
    Ok(())
}

fn kind(set: Set) -> &'static str {
    if set == Set::MnistC {
        "greyscale"
    } else {
        "colour"
    }
}

/// The error for a name neither file knows.
fn unknown(name: &str) -> AerError {
    let mut all: Vec<&str> = [Set::MnistC, Set::Cifar10C].iter().flat_map(|s| s.names()).collect();
    all.sort();
    all.dedup();
    AerError::Invalid(format!("unknown corruption '{name}'; known: {}", all.join(", ")))
}

/// A known name and a severity from 0 to 5.
fn check(name: &str, severity: u32) -> Result<()> {
    if ![pixel::GREY, pixel::COLOUR, spatial::GREY, spatial::COLOUR].iter().any(|names| names.contains(&name)) {
        return Err(unknown(name));
    }
    if severity > 5 {
        return Err(AerError::Invalid(format!("severity {severity} is outside 0-5 (0 is the clean image, 1 to 5 the published strengths)")));
    }
    Ok(())
}

/// x [n, c, h, w] (in [0, 1]) corrupted by `name` at `severity` (0, the identity, to 5) on the
/// GPU; the draws depend on (seed, example index in x).
pub async fn corrupt(gpu: &Gpu, name: &str, severity: u32, seed: u32, x: &Tensor) -> Result<Tensor> {
    check(name, severity)?;
    if severity == 0 {
        return Ok(gpu.duplicate(x));
    }
    if let Some(y) = pixel::apply(gpu, name, severity, seed, x).await? {
        return Ok(y);
    }
    spatial::apply(gpu, name, severity, seed, x).await?.ok_or_else(|| unknown(name))
}

/// `corrupt` on the CPU, from the kernels' references.
pub fn corrupt_reference(name: &str, severity: u32, seed: u32, x: &[f32], shape: [usize; 4]) -> Result<Vec<f32>> {
    check(name, severity)?;
    if severity == 0 {
        return Ok(x.to_vec());
    }
    pixel::reference(name, severity, seed, x, shape).or_else(|| spatial::reference(name, severity, seed, x, shape)).ok_or_else(|| unknown(name))
}
