//! CARD-Deck results (`aer deck eval`) in the AER report: per `deck.json` under the report's
//! directory, a table of the deck, each member and the reference model with their clean and
//! mean corruption accuracy and stored bytes. docs/deck.md defines the numbers.

use crate::error::{AerError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every `deck.json` under `dir`, in path order, with its path.
pub fn collect(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    super::aer::files_named(dir, "deck.json")?
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| AerError::file(&p, format!("cannot read: {e}")))?;
            let v: Value = serde_json::from_str(&text).map_err(|e| AerError::file(&p, format!("not a deck result ({e}); was it written by another version of aer?")))?;
            if !v["members"].is_array() || !v["deck"].is_object() {
                return Err(AerError::file(&p, "has no 'members' and 'deck'; write it with aer deck eval"));
            }
            Ok((p, v))
        })
        .collect()
}

/// One table per result, titled by the deck file, the set and the gate: a row for the deck,
/// one per member (with its augmentation) and one for the reference model.
pub fn tables(results: &[(PathBuf, Value)]) -> Vec<(String, Vec<Vec<String>>)> {
    let pct = |v: &Value| v.as_f64().map_or("-".into(), |v| format!("{:.1}", 100.0 * v));
    let row = |name: String, v: &Value| vec![name, pct(&v["clean_accuracy"]), pct(&v["mean_corruption_accuracy"]), v["bytes"].as_u64().map_or("-".into(), |b| b.to_string())];
    results
        .iter()
        .map(|(path, r)| {
            let mut rows = vec![["model", "clean %", "mean corruption %", "bytes"].map(String::from).to_vec()];
            rows.push(row(format!("deck ({} members)", r["members"].as_array().map_or(0, Vec::len)), &r["deck"]));
            for (i, m) in r["members"].as_array().into_iter().flatten().enumerate() {
                rows.push(row(format!("member {i}: {} ({})", m["model"].as_str().unwrap_or("-"), m["augmentation"].as_str().unwrap_or("-")), m));
            }
            if r["reference"].is_object() {
                rows.push(row(format!("reference: {}", r["reference"]["model"].as_str().unwrap_or("-")), &r["reference"]));
            }
            let title = format!("{} ({}, gate {}, {} test examples)", path.display(), r["set"].as_str().unwrap_or("-"), r["gate"].as_str().unwrap_or("-"), r["examples"]);
            (title, rows)
        })
        .collect()
}

/// What the tables show, in a sentence.
pub const CAPTION: &str = "A CARD-Deck (aer deck eval) against each of its members alone and the reference model: accuracy on the clean test examples and mean accuracy over the corruptions and severities (the images of aer shift); bytes as stored, the deck's the sum of its members' (docs/deck.md).";
