use super::shaders::ADV_LOSS;
use crate::gpu::{Gpu, Kernel, Tensor};
use serde::{Deserialize, Serialize};

/// The objective an attack maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvLoss {
    /// Cross-entropy (negated towards the target when targeted).
    Ce,
    /// Difference of logits ratio (Croce & Hein, 2020); needs 3 classes (4 when targeted).
    Dlr,
    /// KL divergence from the clean prediction (TRADES); untargeted only.
    Kl,
    /// Logit margin: untargeted max_{j != y} z_j - z_y (Square), targeted z_t - z_y (FAB-T).
    Margin,
}

impl AdvLoss {
    fn code(self) -> f64 {
        match self {
            AdvLoss::Ce => 0.0,
            AdvLoss::Dlr => 1.0,
            AdvLoss::Kl => 2.0,
            AdvLoss::Margin => 3.0,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    batch: u32,
    classes: u32,
    _pad: [u32; 2],
}

/// What `adv_loss` reads besides the logits.
pub struct AdvLossInputs<'a> {
    pub labels: &'a Tensor,
    /// Target classes of a targeted attack.
    pub targets: Option<&'a Tensor>,
    /// Clean logits, for `AdvLoss::Kl`.
    pub reference: Option<&'a Tensor>,
}

/// Per example: the objective into `loss`, its gradient with respect to the logits into
/// `dlogits` (unscaled), and whether the attack succeeds into `success`.
#[allow(clippy::too_many_arguments)]
pub fn adv_loss(gpu: &Gpu, kind: AdvLoss, logits: &Tensor, inputs: &AdvLossInputs, dlogits: &Tensor, loss: &Tensor, success: &Tensor, batch: usize, classes: usize) {
    let targeted = inputs.targets.is_some();
    let min_classes = match (kind, targeted) {
        (AdvLoss::Dlr, false) => 3,
        (AdvLoss::Dlr, true) => 4,
        _ => 2,
    };
    assert!(classes >= min_classes, "{kind:?} loss needs at least {min_classes} classes, the model has {classes}");
    assert!(!(targeted && kind == AdvLoss::Kl), "the KL objective is untargeted");
    assert!(kind != AdvLoss::Kl || inputs.reference.is_some(), "the KL objective needs the clean logits");
    let k = Kernel { shader: &ADV_LOSS, entry: "adv_loss" };
    let overrides = [("LOSS", kind.code()), ("TARGETED", targeted as u32 as f64)];
    let p = Params { batch: batch as u32, classes: classes as u32, _pad: [0; 2] };
    let targets = inputs.targets.unwrap_or(inputs.labels);
    let reference = inputs.reference.unwrap_or(logits);
    gpu.launch(&k, &overrides, &p, &[logits, inputs.labels, targets, reference, dlogits, loss, success], [batch.div_ceil(64) as u32, 1, 1]);
}
