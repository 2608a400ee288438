//! Corruption benchmark results (`aer shift`) for people: the heat map of accuracy per
//! corruption and severity, and the AER report's table per model from every `*-shift.json`
//! under the report's directory. docs/shift.md defines the numbers.

use super::svg::escape;
use crate::error::{AerError, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every `*-shift.json` under `dir`, in path order, with its path.
pub fn collect(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    super::aer::files_where(dir, &|n| n.ends_with("-shift.json"))?
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| AerError::file(&p, format!("cannot read: {e}")))?;
            let v: Value = serde_json::from_str(&text).map_err(|e| AerError::file(&p, format!("not a shift result ({e}); was it written by another version of aer?")))?;
            if !v["corruptions"].is_array() {
                return Err(AerError::file(&p, "has no 'corruptions' list; write it with aer shift"));
            }
            Ok((p, v))
        })
        .collect()
}

/// One table per result, titled by model and checkpoint, as rows of cells with the header
/// first: a row per corruption (accuracy % per severity, the mean, CE % and relative CE %
/// when the result has a reference model), then the mean over corruptions.
pub fn tables(results: &[(PathBuf, Value)]) -> Vec<(String, Vec<Vec<String>>)> {
    let pct = |v: &Value| v.as_f64().map_or("-".into(), |v| format!("{:.1}", 100.0 * v));
    results
        .iter()
        .map(|(path, r)| {
            let severities: Vec<String> = r["severities"].as_array().into_iter().flatten().map(|s| format!("s{s}")).collect();
            let mut header = vec!["corruption".to_string()];
            header.extend(severities.iter().map(|s| format!("{s} %")));
            header.extend(["mean %", "CE %", "relative CE %"].map(String::from));
            let mut rows = vec![header];
            let blank = || vec!["-".to_string(); severities.len()];
            rows.push([vec!["clean".to_string()], blank(), vec![pct(&r["clean_accuracy"]), "-".into(), "-".into()]].concat());
            for c in r["corruptions"].as_array().into_iter().flatten() {
                let mut row = vec![c["name"].as_str().unwrap_or("-").to_string()];
                row.extend(c["accuracy"].as_array().into_iter().flatten().map(pct));
                row.extend([pct(&c["mean_accuracy"]), pct(&c["ce"]), pct(&c["relative_ce"])]);
                rows.push(row);
            }
            rows.push([vec!["mean (mCA, mCE, relative mCE)".to_string()], blank(), vec![pct(&r["mean_corruption_accuracy"]), pct(&r["mce"]), pct(&r["relative_mce"])]].concat());
            let title = format!("{} ({}, {}, {} test examples{})", r["model"].as_str().unwrap_or("-"), path.display(), r["set"].as_str().unwrap_or("-"), r["examples"], r["reference"]["checkpoint"].as_str().map_or(String::new(), |c| format!(", CE against {c}")));
            (title, rows)
        })
        .collect()
}

/// What the tables show, in a sentence.
pub const CAPTION: &str = "Accuracy on corrupted copies of the test examples (aer shift), per corruption and severity; mCA is the mean over corruptions and severities; CE is the model's summed error over the severities divided by the reference model's, relative CE the same for the error in excess of each model's clean error; mCE and relative mCE are their means over corruptions (docs/shift.md).";

/// The heat map: one row per corruption, columns clean then each severity, each cell coloured
/// by accuracy (red at 0 through yellow to green at 100%) with the percentage written in it.
pub fn heatmap_svg(title: &str, corruptions: &[String], severities: &[u32], clean: f64, accuracy: &[Vec<f64>]) -> String {
    let (cell_w, cell_h, left, top) = (64.0, 24.0, 130.0, 56.0);
    let cols = severities.len() + 1;
    let (width, height) = (left + cell_w * cols as f64 + 16.0, top + cell_h * corruptions.len() as f64 + 16.0);
    let colour = |a: f64| {
        // Red (0) -> yellow (0.5) -> green (1).
        let a = a.clamp(0.0, 1.0);
        let (r, g) = if a < 0.5 { (230.0, 60.0 + 2.0 * a * 160.0) } else { (230.0 - (a - 0.5) * 2.0 * 180.0, 220.0) };
        format!("rgb({},{},70)", r as u8, g as u8)
    };
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"system-ui,sans-serif\" font-size=\"12\">\n");
    svg += &format!("<text x=\"{}\" y=\"20\" font-size=\"14\" text-anchor=\"middle\">{}</text>\n", width / 2.0, escape(title));
    for (j, label) in std::iter::once("clean".to_string()).chain(severities.iter().map(|s| format!("severity {s}"))).enumerate() {
        svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", left + cell_w * (j as f64 + 0.5), top - 8.0, escape(&label));
    }
    for (i, name) in corruptions.iter().enumerate() {
        let y = top + cell_h * i as f64;
        svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 8.0, y + cell_h * 0.65, escape(name));
        let values = std::iter::once(clean).chain(accuracy.get(i).into_iter().flatten().copied());
        for (j, a) in values.enumerate() {
            let x = left + cell_w * j as f64;
            svg += &format!("<rect x=\"{x}\" y=\"{y}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"{}\" stroke=\"#fff\"/>\n", colour(a));
            svg += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.1}</text>\n", x + cell_w / 2.0, y + cell_h * 0.65, 100.0 * a);
        }
    }
    svg + "</svg>\n"
}
