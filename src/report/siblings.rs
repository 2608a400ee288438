//! The siblings table of the AER report: every `siblings.json` (`aer siblings`) under the
//! report's directory, one row per prior (the baseline, each sibling) plus one for the
//! Square attack without a prior. docs/siblings.md defines the columns.

use crate::error::{AerError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every `siblings.json` under `dir`, in path order, with its path.
pub fn collect(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    super::aer::files_named(dir, "siblings.json")?
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| AerError::file(&p, format!("cannot read: {e}")))?;
            let v: Value = serde_json::from_str(&text).map_err(|e| AerError::file(&p, format!("not a siblings result ({e}); was it written by another version of aer?")))?;
            if !v["priors"].is_array() {
                return Err(AerError::file(&p, "has no 'priors' list; write it with aer siblings"));
            }
            Ok((p, v))
        })
        .collect()
}

/// The table as rows of cells, header first (None when there are no results).
pub fn table(results: &[(PathBuf, Value)]) -> Option<Vec<Vec<String>>> {
    if results.is_empty() {
        return None;
    }
    let pct = |v: &Value| v.as_f64().map_or("-".into(), |v| format!("{:.1}", 100.0 * v));
    let num = |v: &Value, digits: usize| v.as_f64().map_or("-".into(), |v| format!("{v:.digits$}"));
    let header = [
        "full model", "prior", "role", "clean %", "sparsity %", "eps", "PGD transfer %", "APGD-CE transfer %", "either transfer %", "PGD agreement %", "grad cosine (mean)",
        "Square success %", "Square queries (mean)", "Square queries (median)",
    ];
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for (_, r) in results {
        let full = r["full"]["checkpoint"].as_str().unwrap_or("-").to_string();
        let eps = num(&r["query_attack"]["config"]["eps"], 3);
        let transfer = |p: &Value, label: &str, key: &str| p["transfer"]["attacks"].as_array().and_then(|a| a.iter().find(|a| a["label"] == label)).map_or("-".into(), |a| pct(&a[key]));
        let q = &r["query_attack"]["no_prior"];
        rows.push(vec![full.clone(), "(none)".into(), "no prior".into(), pct(&r["full"]["clean_accuracy"]), "-".into(), eps.clone(), "-".into(), "-".into(), "-".into(), "-".into(), "-".into(), pct(&q["success"]), num(&q["mean_queries"], 0), num(&q["median_queries"], 0)]);
        for p in r["priors"].as_array().into_iter().flatten() {
            let q = &p["query_attack"];
            rows.push(vec![
                full.clone(),
                p["label"].as_str().unwrap_or("-").to_string(),
                p["role"].as_str().unwrap_or("-").to_string(),
                pct(&p["clean_accuracy"]),
                pct(&p["sparsity"]),
                eps.clone(),
                transfer(p, "PGD-40", "transfer_success"),
                transfer(p, "APGD-CE", "transfer_success"),
                pct(&p["transfer"]["transfer_success_any"]),
                transfer(p, "PGD-40", "agreement"),
                num(&p["gradient_cosine"]["mean"], 3),
                pct(&q["success"]),
                num(&q["mean_queries"], 0),
                num(&q["median_queries"], 0),
            ]);
        }
    }
    Some(rows)
}

/// What the table shows, in a sentence.
pub const CAPTION: &str = "Transfer through siblings (aer siblings): PGD and APGD-CE examples crafted on each prior and evaluated on the full model (share of its correctly classified test images flipped), agreement of the two predictions on the PGD examples, the input-gradient cosine, and the Square attack on the full model started from the prior's examples (failures counted at the budget); the no-prior row is plain Square on the same images.";
