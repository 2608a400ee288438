//! Every setting of every stage of every run, checked before the first stage runs: a bad
//! attack radius in the last stage must not wait for hours of training to be refused.
//! `Pipeline::check` (in `spec`) checks what the file alone decides; `check_with_data` what
//! needs the data's shape and classes and the adapter's limits (defaults that follow the
//! data, attacks that need three or more classes, a model that fits the input, training
//! batches that fit a storage binding).

use super::spec::{Run, Stage};
use crate::attack::{AttackSettings, SuiteConfig};
use crate::error::{AerError, Result};
use crate::nn::ModelSpec;

/// An attack stage's settings resolved for data of `input` shape and `classes` classes, with
/// its robustness curve's attack: the same calls the stage makes when it runs.
pub fn check_attack(attack: &AttackSettings, input: [usize; 3], classes: usize) -> Result<()> {
    let suite = SuiteConfig::resolve(attack, input, classes)?;
    suite.curve_attack(attack, input, classes)?;
    Ok(())
}

/// A run's data as the checks need it.
#[derive(Clone, Copy, Debug)]
pub struct DataShape {
    pub input: [usize; 3],
    pub classes: usize,
    /// Training examples: a batch larger than them trains on them all.
    pub train: usize,
}

/// Check every run against its data and the adapter: `shape` gives a run's data shape (the
/// caller loads each data set once), `binding_limit` the adapter's largest storage binding in
/// bytes. Errors name the run, the stage and the setting.
pub fn check_with_data(origin: &str, runs: &[Run], binding_limit: u64, shape: &mut dyn FnMut(&Run) -> Result<DataShape>) -> Result<()> {
    for run in runs {
        let DataShape { input, classes, train } = shape(run)?;
        let p = &run.pipeline;
        let which = if run.label.is_empty() { origin.to_string() } else { format!("{origin}, run {}", run.label) };
        let spec = ModelSpec::load(&p.model).map_err(|e| AerError::Invalid(format!("{which}: model '{}': {e}", p.model)))?;
        spec.shapes(input, classes).map_err(|e| AerError::Invalid(format!("{which}: model '{}' does not fit the data ({input:?}, {classes} classes): {e}", p.model)))?;
        for (i, s) in p.stages.iter().enumerate() {
            if let Stage::Attack { attack, .. } = s {
                check_attack(attack, input, classes).map_err(|e| AerError::Invalid(format!("{which}: stage {} (attack): {e}; fix [stages.attack] of stage {}", i + 1, i + 1)))?;
            }
            // A training step cannot be split (evaluations and attacks split theirs): its
            // batch must fit the adapter's binding, as training checks when it starts.
            if let Some(t) = s.train() {
                let (n, kind) = (i + 1, s.kind());
                spec.check_batch(input, classes, binding_limit, t.batch_size.min(train).max(1), &format!("batch_size {}", t.batch_size))
                    .map_err(|e| AerError::Invalid(format!("{which}: stage {n} ({kind}): {e}; fix batch_size in [stages.train] of stage {n}")))?;
            }
        }
    }
    Ok(())
}
