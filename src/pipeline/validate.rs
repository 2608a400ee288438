//! Every setting of every stage of every run, checked before the first stage runs: a bad
//! attack radius in the last stage must not wait for hours of training to be refused.
//! `Pipeline::check` (in `spec`) checks what the file alone decides; `check_with_data` what
//! needs the data's shape and classes (defaults that follow the data, attacks that need
//! three or more classes, a model that fits the input).

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

/// A run's data as the checks need it: its input shape and number of classes.
pub type DataShape = ([usize; 3], usize);

/// Check every run against its data: `shape` gives the input shape and class count of a run's
/// data (the caller loads each data set once). Errors name the run, the stage and the setting.
pub fn check_with_data(origin: &str, runs: &[Run], shape: &mut dyn FnMut(&Run) -> Result<DataShape>) -> Result<()> {
    for run in runs {
        let (input, classes) = shape(run)?;
        let p = &run.pipeline;
        let which = if run.label.is_empty() { origin.to_string() } else { format!("{origin}, run {}", run.label) };
        let spec = ModelSpec::load(&p.model).map_err(|e| AerError::Invalid(format!("{which}: model '{}': {e}", p.model)))?;
        spec.shapes(input, classes).map_err(|e| AerError::Invalid(format!("{which}: model '{}' does not fit the data ({input:?}, {classes} classes): {e}", p.model)))?;
        for (i, s) in p.stages.iter().enumerate() {
            if let Stage::Attack { attack, .. } = s {
                check_attack(attack, input, classes).map_err(|e| AerError::Invalid(format!("{which}: stage {} (attack): {e}; fix [stages.attack] of stage {}", i + 1, i + 1)))?;
            }
        }
    }
    Ok(())
}
