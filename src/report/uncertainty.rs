//! The calibration and out-of-distribution table of the AER report: every `<stem>-eval.json`
//! (`aer eval --out`), `<stem>-calibrate.json` (`aer calibrate`) and `<stem>-ood.json`
//! (`aer ood`) under the report's directory, one row per measured prediction: accuracy, ECE,
//! NLL, Brier score, temperature, and AUROC and FPR at 95% TPR per OOD score.
//! docs/uncertainty.md defines the columns.

use crate::error::{AerError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The file name endings of the results the table reads.
const SUFFIXES: [&str; 4] = ["-eval.json", "-calibrate.json", "-ood.json", "-ood-corrupted.json"];

/// Every eval, calibrate and ood result under `dir`, in path order, with its path.
pub fn collect(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    super::aer::files_where(dir, &|n| SUFFIXES.iter().any(|s| n.ends_with(s)))?
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| AerError::file(&p, format!("cannot read: {e}")))?;
            let v: Value = serde_json::from_str(&text).map_err(|e| AerError::file(&p, format!("not an eval, calibrate or ood result ({e}); was it written by another version of aer?")))?;
            Ok((p, v))
        })
        .collect()
}

/// The table as rows of cells, header first (None when there are no results).
pub fn table(results: &[(PathBuf, Value)]) -> Option<Vec<Vec<String>>> {
    if results.is_empty() {
        return None;
    }
    let header = [
        "model", "result", "split", "accuracy %", "ECE", "NLL", "Brier", "temperature", "AUROC MSP", "AUROC energy", "AUROC entropy", "FPR@95TPR MSP", "FPR@95TPR energy", "FPR@95TPR entropy",
    ];
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for (path, r) in results {
        let model = r["checkpoint"].as_str().unwrap_or("-").to_string();
        let split = r["split"].as_str().unwrap_or("-").to_string();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut row = |result: String, split: &str, c: &Value, t: &Value, ood: Option<&Value>| {
            let mut cells = vec![model.clone(), result, split.to_string()];
            cells.extend(metric_cells(c));
            cells.push(t.as_f64().map_or("-".into(), |t| format!("{t:.3}")));
            cells.extend(detection_cells(ood));
            rows.push(cells);
        };
        if name.ends_with("-eval.json") {
            row("eval".into(), &split, &r["calibration"], &Value::Null, None);
            if !r["temperature_scaled"].is_null() {
                row("eval, temperature-scaled".into(), &split, &r["temperature_scaled"], &r["temperature"], None);
            }
            if let Some(c) = r["combined"].as_object() {
                row(format!("eval, {}", c["what"].as_str().unwrap_or("combined")), &split, &c["calibration"], &Value::Null, None);
            }
        } else if name.ends_with("-calibrate.json") {
            for split in ["validation", "test"] {
                row("calibrate, before".into(), split, &r[split]["before"], &Value::Null, None);
                row("calibrate, after".into(), split, &r[split]["after"], &r["temperature"], None);
            }
        } else {
            let members = r["members"].as_array().map(|m| m.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>().join(" + "));
            let what = format!("ood vs {}{}", r["out_data"].as_str().unwrap_or("-"), if r["members"].as_array().is_some_and(|m| m.len() > 1) { " (ensemble)" } else { "" });
            let mut cells = vec![members.unwrap_or(model.clone()), what, split.clone()];
            cells.extend(metric_cells(&r["in_calibration"]));
            cells.push("-".into());
            cells.extend(detection_cells(Some(&r["detection"])));
            rows.push(cells);
        }
    }
    Some(rows)
}

/// Accuracy %, ECE, NLL, Brier of a calibration object ("-" for what it lacks).
fn metric_cells(c: &Value) -> Vec<String> {
    let num = |k: &str, digits: usize, scale: f64| c[k].as_f64().map_or("-".into(), |v| format!("{:.digits$}", scale * v));
    vec![num("accuracy", 2, 100.0), num("ece", 4, 1.0), num("nll", 4, 1.0), num("brier", 4, 1.0)]
}

/// AUROC then FPR at 95% TPR for MSP, energy and entropy ("-" where a score is missing).
fn detection_cells(detection: Option<&Value>) -> Vec<String> {
    let find = |score: &str, key: &str| {
        detection.and_then(|d| d.as_array()).and_then(|a| a.iter().find(|d| d["score"] == score)).and_then(|d| d[key].as_f64()).map_or("-".into(), |v| format!("{v:.4}"))
    };
    let scores = ["msp", "energy", "entropy"];
    scores.iter().map(|s| find(s, "auroc")).chain(scores.iter().map(|s| find(s, "fpr_at_95_tpr"))).collect()
}

/// What the table shows, in a sentence.
pub const CAPTION: &str = "Calibration and out-of-distribution detection (aer eval --out, aer calibrate, aer ood): accuracy, expected calibration error (15 equal-width confidence bins), negative log-likelihood and Brier score (summed over classes, averaged over examples); temperature scaling is fitted on the validation split; OOD rows give the in-distribution test metrics and, per score (higher = in-distribution), AUROC and the false-positive rate at 95% true-positive rate with in-distribution images as positives.";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_row_per_measured_prediction() {
        let c = json!({"accuracy": 0.9, "ece": 0.05, "nll": 0.3, "brier": 0.15});
        let eval = json!({"checkpoint": "m.safetensors", "split": "test", "calibration": c, "temperature": 1.5, "temperature_scaled": c, "combined": {"what": "ensemble of 2", "calibration": c}});
        let cal = json!({"checkpoint": "m.safetensors", "split": "validation", "temperature": 1.5, "validation": {"before": c, "after": c}, "test": {"before": c, "after": c}});
        let ood = json!({"checkpoint": "m.safetensors", "split": "test", "members": ["m.safetensors"], "out_data": "noise", "in_calibration": c, "detection": [{"score": "msp", "auroc": 0.97, "fpr_at_95_tpr": 0.1}]});
        let rows = table(&[(PathBuf::from("m-eval.json"), eval), (PathBuf::from("m-calibrate.json"), cal), (PathBuf::from("m-ood.json"), ood)]).unwrap();
        assert_eq!(rows.len(), 1 + 3 + 4 + 1);
        assert!(rows.iter().all(|r| r.len() == rows[0].len()));
        assert_eq!(rows[1][3], "90.00");
        assert_eq!(rows[2][7], "1.500");
        let last = rows.last().unwrap();
        assert_eq!((last[1].as_str(), last[8].as_str(), last[9].as_str(), last[11].as_str()), ("ood vs noise", "0.9700", "-", "0.1000"));
        assert!(table(&[]).is_none());
    }
}
