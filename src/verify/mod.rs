//! Verified robustness: a lower bound on robust accuracy from interval bounds (see
//! `Model::bounds`). An example is verified at eps when the upper bound of z_j - z_y is
//! negative for every other class j: no input in the L-inf ball (clipped to [0, 1]) changes
//! the prediction. Empirical attacks give the upper bound; verified <= attacked <= clean must
//! hold per example, and `soundness` says where it does not.

mod training;

pub use training::{certified_gradients, CertifiedConfig, CertifiedSlots};

use crate::attack::upload_range;
use crate::data::Dataset;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::nn::Model;
use crate::reference::first_argmax;

/// Interval-bound verification of a data set at one radius, per example.
#[derive(Clone, Debug)]
pub struct Verification {
    pub eps: f32,
    pub labels: Vec<u32>,
    pub clean_pred: Vec<u32>,
    /// Verified robust (every other class's margin bound negative).
    pub verified: Vec<bool>,
    /// The lower bound of min_j (z_y - z_j): positive exactly when verified.
    pub margin_lower: Vec<f32>,
    pub seconds: f64,
}

impl Verification {
    pub fn verified_accuracy(&self) -> f64 {
        crate::attack::fraction(&self.verified)
    }

    pub fn clean_accuracy(&self) -> f64 {
        self.labels.iter().zip(&self.clean_pred).filter(|(y, p)| y == p).count() as f64 / self.labels.len().max(1) as f64
    }

    /// Examples that contradict verified <= attacked <= clean: verified but misclassified
    /// clean, or verified but broken by an attack (`robust`, per example, when given). Any
    /// such example is a bug in the bounds or the attack, never a property of the model.
    pub fn soundness(&self, robust: Option<&[bool]>) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, &v) in self.verified.iter().enumerate() {
            if !v {
                continue;
            }
            if self.clean_pred[i] != self.labels[i] {
                problems.push(format!("example {i} is verified at eps {} but misclassified without perturbation", self.eps));
            }
            if robust.is_some_and(|r| !r[i]) {
                problems.push(format!("example {i} is verified at eps {} but an attack changed its prediction", self.eps));
            }
        }
        problems
    }
}

/// Verify every example of `data` at radius eps, `batch_size` at a time (one readback per
/// batch). `progress(batch, batches)` after each.
pub async fn verify(gpu: &Gpu, model: &Model, data: &Dataset, eps: f32, batch_size: usize, progress: &mut dyn FnMut(usize, usize)) -> Result<Verification> {
    model.check_bounds()?;
    let t = web_time::Instant::now();
    let (n, classes) = (data.len(), model.classes);
    let bs = batch_size.max(1);
    let batches = n.div_ceil(bs);
    let mut out = Verification { eps, labels: Vec::new(), clean_pred: Vec::new(), verified: Vec::new(), margin_lower: Vec::new(), seconds: 0.0 };
    for b in 0..batches {
        let (x, labels, ys) = upload_range(gpu, data, b * bs..((b + 1) * bs).min(n));
        let logits = model.forward(gpu, x.clone(), None);
        let bounds = model.bounds(gpu, &x, &labels, eps, None);
        let read = gpu.read_bytes(&[&logits, &bounds.worst]).await?;
        let (logits, worst): (Vec<f32>, Vec<f32>) = (bytemuck::pod_collect_to_vec(&read[0]), bytemuck::pod_collect_to_vec(&read[1]));
        for (e, &y) in ys.iter().enumerate() {
            let row = &worst[e * classes..(e + 1) * classes];
            // The largest bound over the other classes; a NaN bound never verifies.
            let top = row.iter().enumerate().filter(|&(j, _)| j != y as usize).map(|(_, &v)| v).fold(f32::NEG_INFINITY, |m, v| if v.is_nan() || m.is_nan() { f32::NAN } else { m.max(v) });
            out.margin_lower.push(-top);
            out.verified.push(top < 0.0);
            out.clean_pred.push(first_argmax(&logits[e * classes..(e + 1) * classes]));
        }
        out.labels.extend(ys);
        progress(b + 1, batches);
    }
    out.seconds = t.elapsed().as_secs_f64();
    Ok(out)
}
