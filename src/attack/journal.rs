//! The record of a long evaluation, batch by batch, so that one stopped part-way (a session
//! that ends, a node taken back) resumes where it stopped: `<dir>/journal/settings.json` says
//! what is evaluated, `<dir>/journal/batch-NNNNN.safetensors` holds each finished batch's
//! per-example results and worst-case points. The evaluation deletes it once its results are
//! written.

use super::config::AttackConfig;
use super::export::serialize;
use super::robustness::Robustness;
use crate::error::{AerError, Result};
use crate::files::write_atomic;
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where an evaluation keeps the batches it has finished.
pub trait BatchLog {
    /// Batch `batch`'s results, if an earlier run recorded them.
    fn recall(&mut self, batch: usize, attacks: &[AttackConfig]) -> Result<Option<Robustness>>;
    fn record(&mut self, batch: usize, done: &Robustness) -> Result<()>;
}

/// Keeps nothing: every batch is attacked.
pub struct NoLog;

impl BatchLog for NoLog {
    fn recall(&mut self, _: usize, _: &[AttackConfig]) -> Result<Option<Robustness>> {
        Ok(None)
    }
    fn record(&mut self, _: usize, _: &Robustness) -> Result<()> {
        Ok(())
    }
}

/// A journal in a directory.
pub struct Journal {
    dir: PathBuf,
    /// Batches recalled from an earlier run.
    pub recalled: usize,
}

impl Journal {
    /// The journal under `out` for the evaluation `settings` describes. One left by an
    /// interrupted run is continued with `resume`, and refused without it or when it was
    /// written for other settings, so that nothing recorded is lost by mistake.
    pub fn open(out: &Path, settings: &serde_json::Value, resume: bool) -> Result<Journal> {
        let dir = out.join("journal");
        // As the file holds it (f32 values at their shortest), so that the two compare.
        let settings = &crate::files::to_json_value(settings);
        let settings_path = dir.join("settings.json");
        if settings_path.exists() {
            let text = std::fs::read_to_string(&settings_path).map_err(|e| AerError::file(&settings_path, format!("cannot read: {e}")))?;
            let earlier: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| AerError::file(&settings_path, format!("is not the JSON an evaluation writes ({e}); delete {} to start over", dir.display())))?;
            if !resume {
                return Err(AerError::file(&dir, "holds the batches of an interrupted evaluation: add --resume to continue it, or delete the directory to start over"));
            }
            if &earlier != settings {
                return Err(AerError::file(
                    &dir,
                    format!("was written by an evaluation with other settings ({}); rerun with those settings, give another --out, or delete the directory to start over", differing(&earlier, settings)),
                ));
            }
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| AerError::file(&dir, format!("cannot create the journal directory: {e}")))?;
            write_atomic(&settings_path, crate::files::to_json_pretty(settings).as_bytes())?;
        }
        Ok(Journal { dir, recalled: 0 })
    }

    fn batch_path(&self, batch: usize) -> PathBuf {
        self.dir.join(format!("batch-{batch:05}.safetensors"))
    }

    /// How many batches are recorded (those of an earlier run, before this one adds any).
    pub fn recorded(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with("batch-") && e.file_name().to_string_lossy().ends_with(".safetensors")).count())
            .unwrap_or(0)
    }

    /// The evaluation's results are written: the journal goes.
    pub fn finish(self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).map_err(|e| AerError::file(&self.dir, format!("cannot remove the finished evaluation's journal: {e}")))
    }
}

/// The top-level fields in which two settings differ.
fn differing(a: &serde_json::Value, b: &serde_json::Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return "another format".into() };
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
}

impl BatchLog for Journal {
    fn recall(&mut self, batch: usize, attacks: &[AttackConfig]) -> Result<Option<Robustness>> {
        let path = self.batch_path(batch);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).map_err(|e| AerError::file(&path, format!("cannot read: {e}")))?;
        let r = decode(&bytes, attacks).map_err(|e| AerError::file(&path, format!("{e}; delete this file and the batch is attacked again")))?;
        self.recalled += 1;
        Ok(Some(r))
    }

    fn record(&mut self, batch: usize, done: &Robustness) -> Result<()> {
        write_atomic(&self.batch_path(batch), &encode(done)?)
    }
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    bytemuck::cast_slice(v).to_vec()
}

fn bool_bytes(v: &[bool]) -> Vec<u8> {
    v.iter().map(|&b| b as u8).collect()
}

/// One batch's results as safetensors: per-attack tensors by position (labels may repeat).
fn encode(r: &Robustness) -> Result<Vec<u8>> {
    let m = r.labels.len();
    let d = r.clean.len() / m.max(1);
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![
        ("clean".into(), Dtype::F32, vec![m, d], bytemuck::cast_slice(&r.clean).to_vec()),
        ("adversarial".into(), Dtype::F32, vec![m, d], bytemuck::cast_slice(&r.adversarial).to_vec()),
        ("labels".into(), Dtype::U32, vec![m], u32_bytes(&r.labels)),
        ("clean_pred".into(), Dtype::U32, vec![m], u32_bytes(&r.clean_pred)),
        ("adv_pred".into(), Dtype::U32, vec![m], u32_bytes(&r.adv_pred)),
        ("worst_robust".into(), Dtype::U8, vec![m], bool_bytes(&r.worst_robust)),
    ];
    for (i, a) in r.attacks.iter().enumerate() {
        owned.push((format!("robust.{i}"), Dtype::U8, vec![m], bool_bytes(&a.robust)));
        if !a.queries.is_empty() {
            owned.push((format!("queries.{i}"), Dtype::U32, vec![m], u32_bytes(&a.queries)));
        }
    }
    let seconds: Vec<f64> = r.attacks.iter().map(|a| a.seconds).collect();
    let meta: HashMap<String, String> = [
        ("format".to_string(), "aer-evaluation-batch".to_string()),
        ("seconds".to_string(), serde_json::to_string(&seconds).unwrap()),
        ("zero_gradients".to_string(), r.zero_gradients.to_string()),
        ("outputs_probabilities".to_string(), r.outputs_probabilities.to_string()),
    ]
    .into();
    serialize(&owned, meta)
}

fn decode(bytes: &[u8], attacks: &[AttackConfig]) -> std::result::Result<Robustness, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("truncated or not a recorded batch ({e})"))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| format!("truncated or not a recorded batch ({e})"))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let field = |k: &str| meta.get(k).ok_or_else(|| format!("not a recorded batch (no '{k}' in its metadata)"));
    let raw = |name: &str, dtype: Dtype| -> std::result::Result<Vec<u8>, String> {
        let v = st.tensor(name).map_err(|_| format!("not a recorded batch (no tensor '{name}')"))?;
        if v.dtype() != dtype {
            return Err(format!("tensor '{name}' is {:?}, not {dtype:?}", v.dtype()));
        }
        Ok(v.data().to_vec())
    };
    let u32s = |name: &str| raw(name, Dtype::U32).map(|b| b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<u32>>());
    let f32s = |name: &str| raw(name, Dtype::F32).map(|b| b.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<f32>>());
    let bools = |name: &str| raw(name, Dtype::U8).map(|b| b.iter().map(|&v| v != 0).collect::<Vec<bool>>());
    let seconds: Vec<f64> = serde_json::from_str(field("seconds")?).map_err(|e| format!("its seconds are not a list ({e})"))?;
    if seconds.len() != attacks.len() {
        return Err(format!("it holds {} attacks, this evaluation runs {}", seconds.len(), attacks.len()));
    }
    let mut r = Robustness::empty(attacks);
    for (i, a) in r.attacks.iter_mut().enumerate() {
        a.robust = bools(&format!("robust.{i}"))?;
        a.queries = if st.names().iter().any(|n| **n == format!("queries.{i}")) { u32s(&format!("queries.{i}"))? } else { Vec::new() };
        a.seconds = seconds[i];
    }
    r.labels = u32s("labels")?;
    r.clean_pred = u32s("clean_pred")?;
    r.adv_pred = u32s("adv_pred")?;
    r.worst_robust = bools("worst_robust")?;
    r.clean = f32s("clean")?;
    r.adversarial = f32s("adversarial")?;
    r.zero_gradients = field("zero_gradients")?.parse().map_err(|_| "its zero_gradients is not a count".to_string())?;
    r.outputs_probabilities = field("outputs_probabilities")? == "true";
    let m = r.labels.len();
    if [r.clean_pred.len(), r.adv_pred.len(), r.worst_robust.len()].iter().any(|&l| l != m) || r.clean.len() != r.adversarial.len() {
        return Err("its tensors disagree in length".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Norm;

    #[test]
    fn a_batch_reads_back_as_written() {
        let attacks = vec![AttackConfig::pgd(Norm::Linf, 0.3, 0.01, 40, 0), AttackConfig::pgd(Norm::Linf, 0.1, 0.01, 40, 0)];
        let mut r = Robustness::empty(&attacks);
        r.labels = vec![3, 7];
        r.clean_pred = vec![3, 1];
        r.adv_pred = vec![2, 1];
        r.worst_robust = vec![false, false];
        r.clean = (0..8).map(|i| i as f32 / 8.0).collect();
        r.adversarial = (0..8).map(|i| 1.0 - i as f32 / 8.0).collect();
        r.attacks[0].robust = vec![true, false];
        r.attacks[0].seconds = 1.5;
        r.attacks[1].robust = vec![false, false];
        r.attacks[1].queries = vec![12, 0];
        r.zero_gradients = 1;
        r.outputs_probabilities = false;
        let back = decode(&encode(&r).unwrap(), &attacks).unwrap();
        assert_eq!((&back.labels, &back.clean_pred, &back.adv_pred, &back.worst_robust), (&r.labels, &r.clean_pred, &r.adv_pred, &r.worst_robust));
        assert_eq!((&back.clean, &back.adversarial), (&r.clean, &r.adversarial));
        assert_eq!(back.attacks[0].robust, vec![true, false]);
        assert_eq!(back.attacks[0].seconds, 1.5);
        assert!(back.attacks[0].queries.is_empty());
        assert_eq!(back.attacks[1].queries, vec![12, 0]);
        assert_eq!((back.zero_gradients, back.outputs_probabilities), (1, false));
        // Another attack list is refused, and so is a truncated file.
        assert!(decode(&encode(&r).unwrap(), &attacks[..1]).is_err());
        let bytes = encode(&r).unwrap();
        assert!(decode(&bytes[..bytes.len() - 5], &attacks).is_err());
    }
}
