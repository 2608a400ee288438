//! The AER report (accuracy, efficiency, robustness) of a directory of pipeline runs: one row
//! per run with clean accuracy, robust accuracy per attack and in the worst case, sparsity,
//! weight bits, stored bytes, FLOPs, measured inference time and adapter; plots of robust
//! against clean accuracy, accuracy against sparsity, the robustness curves and the Pareto
//! front of robust accuracy against model size; the siblings table of every `aer siblings`
//! result and the calibration and OOD table of every `aer eval --out`, `aer calibrate` and
//! `aer ood` result under the directory. Markdown, HTML, CSV and JSON.

use crate::files::write_atomic;
use super::svg::{escape, Chart, Series};
use crate::error::{AerError, Result};
use crate::pipeline::RunSummary;
use std::path::{Path, PathBuf};

/// Every `summary.json` under `dir`, in path order.
pub fn collect(dir: &Path) -> Result<Vec<RunSummary>> {
    files_named(dir, "summary.json")?
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| AerError::file(p, format!("cannot read: {e}")))?;
            serde_json::from_str(&text).map_err(|e| AerError::file(p, format!("not a run summary ({e}); was it written by another version of aer?")))
        })
        .collect()
}

/// Every file called `name` under `dir` (at any depth), in path order.
pub fn files_named(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    files_where(dir, &|n| n == name)
}

/// Every file under `dir` (at any depth) whose name passes `keep`, in path order.
pub fn files_where(dir: &Path, keep: &dyn Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| AerError::file(&d, format!("cannot read the directory: {e}")))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| keep(&n.to_string_lossy())) {
                paths.push(p);
            }
        }
    }
    paths.sort();
    Ok(paths)
}

fn name(s: &RunSummary) -> String {
    if s.label.is_empty() { s.pipeline.clone() } else { format!("{} [{}]", s.pipeline, s.label) }
}

/// The attack columns: each attack at each radius that any run has.
fn attack_columns(runs: &[RunSummary]) -> Vec<(String, f64)> {
    let mut cols: Vec<(String, f64)> = Vec::new();
    for a in runs.iter().flat_map(|r| &r.attacks) {
        if !cols.iter().any(|(n, e)| n == &a.attack && (e - a.eps).abs() < 1e-9) {
            cols.push((a.attack.clone(), a.eps));
        }
    }
    cols
}

/// The table as rows of cells, header first.
fn table(runs: &[RunSummary]) -> Vec<Vec<String>> {
    let cols = attack_columns(runs);
    let pct = |v: f64| format!("{:.2}", 100.0 * v);
    let mut header: Vec<String> = ["run", "model", "clean %"].iter().map(|s| s.to_string()).collect();
    header.extend(cols.iter().map(|(n, e)| format!("{n} eps {e:.3} %")));
    header.push("worst-case robust %".into());
    // Watermark columns only when a run checked one.
    let watermark = runs.iter().any(|r| r.watermark.is_some());
    if watermark {
        header.extend(["watermark match %", "watermark log10 p"].iter().map(|s| s.to_string()));
    }
    header.extend(["sparsity %", "bits/weight", "model bytes", "MFLOP/example (dense)", "MFLOP/example (executed)", "inference us/example", "adapter", "seconds"].iter().map(|s| s.to_string()));
    let mut rows = vec![header];
    for r in runs {
        let mut row = vec![name(r), r.model.clone(), pct(r.test_accuracy)];
        for (n, e) in &cols {
            row.push(r.attacks.iter().find(|a| &a.attack == n && (a.eps - e).abs() < 1e-9).map_or("-".into(), |a| pct(a.robust_accuracy)));
        }
        row.push(r.worst_robust_accuracy.map_or("-".into(), pct));
        if watermark {
            row.push(r.watermark.as_ref().map_or("-".into(), |w| pct(w.match_rate)));
            row.push(r.watermark.as_ref().map_or("-".into(), |w| format!("{:.1}", w.log10_p_value)));
        }
        row.push(format!("{:.1}", 100.0 * r.sparsity));
        row.push(format!("{:.2}", r.weight_bits));
        row.push(r.model_bytes.to_string());
        row.push(format!("{:.3}", r.dense_flops as f64 / 1e6));
        row.push(format!("{:.3}", r.executed_flops as f64 / 1e6));
        row.push(r.inference_us_per_example.map_or("-".into(), |v| format!("{v:.1}")));
        row.push(r.adapter.clone());
        row.push(format!("{:.0}", r.seconds));
        rows.push(row);
    }
    rows
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// The runs no other run beats on both model size (smaller) and robust accuracy (higher),
/// by increasing size: the Pareto front.
pub fn pareto_front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len()).collect();
    idx.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0).then(points[b].1.total_cmp(&points[a].1)));
    let mut front = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for i in idx {
        if points[i].1 > best {
            best = points[i].1;
            front.push(i);
        }
    }
    front
}

/// The four plots, as (file name, SVG).
fn plots(runs: &[RunSummary]) -> Vec<(&'static str, String)> {
    let robust = |r: &RunSummary| r.worst_robust_accuracy;
    let tip = |r: &RunSummary| name(r);
    let attacked: Vec<&RunSummary> = runs.iter().filter(|r| robust(r).is_some()).collect();
    let robust_vs_clean = Chart {
        title: "Robust against clean accuracy".into(),
        x_label: "clean test accuracy".into(),
        y_label: "worst-case robust accuracy".into(),
        x_percent: true,
        y_percent: true,
        x_log: false,
        series: attacked.iter().map(|r| Series { label: name(r), points: vec![(r.test_accuracy, robust(r).unwrap(), tip(r))], line: false, markers: true }).collect(),
        empty_note: "no run has an attack stage".into(),
    };
    let accuracy_vs_sparsity = Chart {
        title: "Accuracy against sparsity".into(),
        x_label: "sparsity (share of weights that are zero)".into(),
        y_label: "accuracy".into(),
        x_percent: true,
        y_percent: true,
        x_log: false,
        series: vec![
            Series { label: "clean".into(), points: runs.iter().map(|r| (r.sparsity, r.test_accuracy, tip(r))).collect(), line: false, markers: true },
            Series { label: "worst-case robust".into(), points: attacked.iter().map(|r| (r.sparsity, robust(r).unwrap(), tip(r))).collect(), line: false, markers: true },
        ],
        empty_note: "no runs".into(),
    };
    let curves = Chart {
        title: "Robustness curve".into(),
        x_label: "eps".into(),
        y_label: "robust accuracy".into(),
        x_percent: false,
        y_percent: true,
        x_log: false,
        series: runs
            .iter()
            .filter(|r| !r.curve.is_empty())
            .map(|r| Series { label: name(r), points: r.curve.iter().map(|p| (p.eps, p.robust_accuracy, format!("{} eps {:.3}", name(r), p.eps))).collect(), line: true, markers: true })
            .collect(),
        empty_note: "no run has an attack stage".into(),
    };
    // Robust accuracy where there is one, else clean, against stored size.
    let score: Vec<(f64, f64)> = runs.iter().map(|r| (r.model_bytes as f64, robust(r).unwrap_or(r.test_accuracy))).collect();
    let front = pareto_front(&score);
    let what = if attacked.len() == runs.len() && !runs.is_empty() { "worst-case robust accuracy" } else { "robust accuracy (clean where not attacked)" };
    let pareto = Chart {
        title: "Pareto front: accuracy against model size".into(),
        x_label: "model bytes as stored (log scale)".into(),
        y_label: what.into(),
        x_percent: false,
        y_percent: true,
        x_log: true,
        series: vec![
            Series { label: "runs".into(), points: runs.iter().zip(&score).map(|(r, p)| (p.0, p.1, tip(r))).collect(), line: false, markers: true },
            Series { label: "Pareto front".into(), points: front.iter().map(|&i| (score[i].0, score[i].1, tip(&runs[i]))).collect(), line: true, markers: false },
        ],
        empty_note: "no runs".into(),
    };
    vec![
        ("robust_vs_clean.svg", robust_vs_clean.to_svg()),
        ("accuracy_vs_sparsity.svg", accuracy_vs_sparsity.to_svg()),
        ("robustness_curve.svg", curves.to_svg()),
        ("pareto.svg", pareto.to_svg()),
    ]
}

/// Write report.md, report.html, report.csv, report.json and the plots into `out`; returns
/// the paths written.
pub fn write_report(dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let runs = collect(dir)?;
    // Tables of other commands' results: (heading, caption, rows with the header first, CSV file).
    let mut sections = Vec::new();
    if let Some(t) = super::siblings::table(&super::siblings::collect(dir)?) {
        sections.push(("Transfer through siblings".to_string(), super::siblings::CAPTION, t, Some("siblings.csv")));
    }
    if let Some(t) = super::uncertainty::table(&super::uncertainty::collect(dir)?) {
        sections.push(("Calibration and out-of-distribution detection".to_string(), super::uncertainty::CAPTION, t, Some("uncertainty.csv")));
    }
    // One corruption table per model; their rows go together into shift.csv.
    let shift = super::shift::tables(&super::shift::collect(dir)?);
    for (title, t) in &shift {
        sections.push((format!("Corruptions: {title}"), super::shift::CAPTION, t.clone(), None));
    }
    for (title, t) in super::deck::tables(&super::deck::collect(dir)?) {
        sections.push((format!("CARD-Deck: {title}"), super::deck::CAPTION, t, None));
    }
    if runs.is_empty() && sections.is_empty() {
        return Err(AerError::file(
            dir,
            "has no run summaries (summary.json), no siblings.json and no eval, calibrate, ood, shift or deck results; run a pipeline into it first (aer run PIPELINE.toml --out DIR), or aer siblings, aer eval, aer calibrate, aer ood, aer shift or aer deck eval with --out DIR",
        ));
    }
    let rows = table(&runs);
    let plots = plots(&runs);
    let mut written = Vec::new();
    let mut put = |file: &str, bytes: &[u8]| -> Result<()> {
        let p = out.join(file);
        write_atomic(&p, bytes)?;
        written.push(p);
        Ok(())
    };
    let adapters: Vec<&str> = {
        let mut a: Vec<&str> = runs.iter().map(|r| r.adapter.as_str()).collect();
        a.sort();
        a.dedup();
        a
    };
    let intro = if runs.is_empty() {
        format!("No pipeline runs under `{}`: the results of other commands alone.", dir.display())
    } else {
        format!(
        "{} runs from `{}` on {}. Clean accuracy is on the whole test split; robust accuracies are on the attack stage's test images (spread over the classes); bytes are the model as stored for inference; FLOPs count 2 per multiply-add of the weight layers.",
        runs.len(),
        dir.display(),
        adapters.join(", ")
        )
    };
    let mut md = format!("# AER report\n\n{intro}\n\n");
    md += &format!("| {} |\n|{}\n", rows[0].join(" | "), "---|".repeat(rows[0].len()));
    for r in &rows[1..] {
        md += &format!("| {} |\n", r.join(" | "));
    }
    md += "\n";
    for (heading, caption, t, _) in &sections {
        md += &format!("## {heading}\n\n{caption}\n\n| {} |\n|{}\n", t[0].join(" | "), "---|".repeat(t[0].len()));
        for r in &t[1..] {
            md += &format!("| {} |\n", r.join(" | "));
        }
        md += "\n";
    }
    for (file, _) in &plots {
        md += &format!("![{file}]({file})\n\n");
    }
    let mut html = format!("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>AER report</title>\n<style>body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1d232a}}table{{border-collapse:collapse;font-variant-numeric:tabular-nums}}th,td{{border-bottom:1px solid #ddd;padding:.25em .7em;text-align:left}}td{{white-space:nowrap}}td+td{{text-align:right}}.plots{{display:flex;flex-wrap:wrap;gap:1em}}</style></head><body>\n<h1>AER report</h1>\n<p>{}</p>\n<table>\n", escape(&intro));
    html += &format!("<tr>{}</tr>\n", rows[0].iter().map(|c| format!("<th>{}</th>", escape(c))).collect::<String>());
    for r in &rows[1..] {
        html += &format!("<tr>{}</tr>\n", r.iter().map(|c| format!("<td>{}</td>", escape(c))).collect::<String>());
    }
    html += "</table>\n";
    for (heading, caption, t, _) in &sections {
        html += &format!("<h2>{}</h2>\n<p>{}</p>\n<table>\n<tr>{}</tr>\n", escape(heading), escape(caption), t[0].iter().map(|c| format!("<th>{}</th>", escape(c))).collect::<String>());
        for r in &t[1..] {
            html += &format!("<tr>{}</tr>\n", r.iter().map(|c| format!("<td>{}</td>", escape(c))).collect::<String>());
        }
        html += "</table>\n";
    }
    html += "<div class=\"plots\">\n";
    for (_, svg) in &plots {
        html += svg;
    }
    html += "</div>\n</body></html>\n";
    let csv: String = rows.iter().map(|r| r.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",") + "\n").collect();
    put("report.md", md.as_bytes())?;
    put("report.html", html.as_bytes())?;
    put("report.csv", csv.as_bytes())?;
    put("report.json", crate::files::to_json_pretty(&runs).as_bytes())?;
    for (_, _, t, csv_file) in &sections {
        let Some(csv_file) = csv_file else { continue };
        put(csv_file, t.iter().map(|r| r.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",") + "\n").collect::<String>().as_bytes())?;
    }
    if !shift.is_empty() {
        let rows: Vec<Vec<String>> = shift.iter().flat_map(|(title, t)| t.iter().enumerate().map(move |(i, r)| std::iter::once(if i == 0 { "model".to_string() } else { title.clone() }).chain(r.iter().cloned()).collect())).collect();
        put("shift.csv", rows.iter().map(|r| r.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",") + "\n").collect::<String>().as_bytes())?;
    }
    for (file, svg) in &plots {
        put(file, svg.as_bytes())?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::pareto_front;

    #[test]
    fn pareto_front_keeps_the_undominated() {
        // (bytes, accuracy): the third is beaten by the first (smaller and better).
        let pts = [(100.0, 0.8), (1000.0, 0.9), (500.0, 0.7), (50.0, 0.5)];
        assert_eq!(pareto_front(&pts), vec![3, 0, 1]);
    }
}
