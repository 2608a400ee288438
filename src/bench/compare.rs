//! Several runs side by side: a Markdown table of medians with each run's speed relative to
//! the first, and an SVG bar chart of those ratios. Runs may hold different entry sets (other
//! suite versions, filters, quick runs): a missing entry is shown as such.

use super::RunReport;
use crate::report::svg::escape;

/// Every entry id in any run, in order of first appearance.
fn all_ids(runs: &[RunReport]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for r in runs {
        for e in &r.results {
            if !ids.contains(&e.id) {
                ids.push(e.id.clone());
            }
        }
    }
    ids
}

fn median(run: &RunReport, id: &str) -> Option<Result<f64, String>> {
    run.results.iter().find(|e| e.id == id).map(|e| if e.ok() { Ok(e.median_ms) } else { Err(e.status.clone()) })
}

/// Speed of `run` relative to the first run on entry `id` (> 1 is faster), where both ran it.
pub fn speedup(runs: &[RunReport], i: usize, id: &str) -> Option<f64> {
    match (median(&runs[0], id), median(&runs[i], id)) {
        (Some(Ok(base)), Some(Ok(t))) if t > 0.0 => Some(base / t),
        _ => None,
    }
}

pub fn compare_markdown(runs: &[RunReport]) -> String {
    let mut s = String::from("| entry |");
    for r in runs {
        s += &format!(" {} |", r.label());
    }
    s += "\n|---|";
    s += &"---:|".repeat(runs.len());
    s += "\n";
    for id in all_ids(runs) {
        s += &format!("| `{id}` |");
        for (i, r) in runs.iter().enumerate() {
            s += &match median(r, &id) {
                None => " — |".to_string(),
                Some(Err(_)) => " failed |".to_string(),
                Some(Ok(ms)) => match (i, speedup(runs, i, &id)) {
                    (0, _) | (_, None) => format!(" {ms:.3} ms |"),
                    (_, Some(x)) => format!(" {ms:.3} ms ({x:.2}x) |"),
                },
            };
        }
        s += "\n";
    }
    s += &format!(
        "\nMedian time per entry; (Nx) is the speed relative to {} (higher is faster). Timing: {}.\n",
        runs.first().map(|r| r.label()).unwrap_or_default(),
        runs.iter().map(|r| format!("{}: {}", r.label(), r.results.first().map(|e| e.timing.as_str()).unwrap_or("-"))).collect::<Vec<_>>().join("; ")
    );
    s
}

/// Horizontal bars: per entry, one bar per run for its speed relative to the first run, on
/// a log scale centred on 1x.
pub fn compare_svg(runs: &[RunReport]) -> String {
    const COLORS: [&str; 6] = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"];
    let ids = all_ids(runs);
    let (label_w, plot_w, bar_h, gap) = (300.0, 420.0, 12.0, 10.0);
    let group_h = runs.len() as f64 * bar_h + gap;
    let top = 30.0 + 18.0 * runs.len() as f64;
    let height = top + ids.len() as f64 * group_h + 30.0;
    let width = label_w + plot_w + 80.0;
    let ratios: Vec<f64> = ids.iter().flat_map(|id| (0..runs.len()).filter_map(move |i| speedup(runs, i, id))).collect();
    let span = ratios.iter().map(|r| r.log10().abs()).fold(0.5f64, f64::max).ceil();
    let x_of = |r: f64| label_w + plot_w * (0.5 + 0.5 * r.log10() / span);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
    s += &format!("<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
    for (i, r) in runs.iter().enumerate() {
        let y = 14.0 + 18.0 * i as f64;
        s += &format!("<rect x=\"10\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", y - 10.0, COLORS[i % COLORS.len()]);
        s += &format!("<text x=\"28\" y=\"{y}\">{}{}</text>\n", escape(&r.label()), if i == 0 { " (baseline)" } else { "" });
    }
    let x1 = x_of(1.0);
    s += &format!("<line x1=\"{x1}\" y1=\"{}\" x2=\"{x1}\" y2=\"{}\" stroke=\"#333\"/>\n", top - 5.0, height - 25.0);
    for k in [-span, span] {
        let x = x_of(10f64.powf(k));
        s += &format!("<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}x</text>\n", height - 10.0, 10f64.powf(k));
    }
    s += &format!("<text x=\"{x1}\" y=\"{}\" text-anchor=\"middle\">1x (speed relative to the baseline, log scale)</text>\n", height - 10.0);
    for (g, id) in ids.iter().enumerate() {
        let y0 = top + g as f64 * group_h;
        s += &format!("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", label_w - 8.0, y0 + group_h / 2.0, escape(id));
        for i in 0..runs.len() {
            let y = y0 + i as f64 * bar_h;
            match speedup(runs, i, id) {
                Some(r) => {
                    let (a, b) = (x1.min(x_of(r)), x1.max(x_of(r)));
                    s += &format!("<rect x=\"{a:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>\n", (b - a).max(1.0), bar_h - 2.0, COLORS[i % COLORS.len()]);
                    s += &format!("<text x=\"{:.1}\" y=\"{:.1}\">{r:.2}x</text>\n", b + 4.0, y + bar_h - 3.0);
                }
                None => s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#888\">not run</text>\n", x1 + 4.0, y + bar_h - 3.0),
            }
        }
    }
    s += "</svg>\n";
    s
}
