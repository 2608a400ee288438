//! A small scatter-and-line chart as standalone SVG: enough for the report's plots, with
//! axes, ticks, a legend and a tooltip per point.

const COLORS: [&str; 8] = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"];
const W: f64 = 560.0;
const H: f64 = 360.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;

pub struct Series {
    pub label: String,
    /// (x, y, tooltip)
    pub points: Vec<(f64, f64, String)>,
    /// Join the points with a line (in the order given).
    pub line: bool,
    /// Draw a marker at each point.
    pub markers: bool,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Axis values shown as percentages (the data are fractions).
    pub x_percent: bool,
    pub y_percent: bool,
    pub x_log: bool,
    pub series: Vec<Series>,
    /// Said in the plot area when there is nothing to draw.
    pub empty_note: String,
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// About five round tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + 1e-9 * step {
        out.push(t);
        t += step;
    }
    out
}

/// Tick positions of a log axis (in log10 units): 1, 2 and 5 times powers of ten inside
/// [lo, hi], or the plain ticks of the log values when the range is too narrow for two.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    for k in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in [1.0f64, 2.0, 5.0] {
            let t = (m * 10f64.powi(k)).log10();
            if t >= lo && t <= hi {
                out.push(t);
            }
        }
    }
    if out.len() < 2 { ticks(lo, hi) } else { out }
}

fn fmt(v: f64, percent: bool) -> String {
    let v = if v.abs() < 1e-12 { 0.0 } else { v };
    if percent {
        return format!("{}%", (100.0 * v * 10.0).round() / 10.0);
    }
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", (v / 1e6 * 10.0).round() / 10.0)
    } else if a >= 1e3 {
        format!("{}k", (v / 1e3 * 10.0).round() / 10.0)
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

impl Chart {
    pub fn to_svg(&self) -> String {
        let pts: Vec<(f64, f64)> = self.series.iter().flat_map(|s| s.points.iter().map(|p| (p.0, p.1))).filter(|p| p.0.is_finite() && p.1.is_finite() && (!self.x_log || p.0 > 0.0)).collect();
        let tx = |x: f64| if self.x_log { x.log10() } else { x };
        let (mut x0, mut x1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(tx(p.0)), b.max(tx(p.0))));
        let (mut y0, mut y1) = pts.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
        if pts.is_empty() {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        // Fractions keep their natural [0, 1] range when the data are near it.
        if self.y_percent {
            y0 = y0.min(0.0).max(0.0);
            y1 = 1.0;
        }
        let pad = |lo: &mut f64, hi: &mut f64| {
            let span = (*hi - *lo).max(if *hi == 0.0 { 1.0 } else { hi.abs() * 0.1 });
            if *hi - *lo < 1e-12 {
                *lo -= span / 2.0;
                *hi += span / 2.0;
            } else {
                *lo -= 0.05 * span;
                *hi += 0.05 * span;
            }
        };
        pad(&mut x0, &mut x1);
        if !self.y_percent {
            pad(&mut y0, &mut y1);
        }
        let px = |x: f64| LEFT + (W - LEFT - RIGHT) * (tx(x) - x0) / (x1 - x0);
        let py = |y: f64| TOP + (H - TOP - BOTTOM) * (1.0 - (y - y0) / (y1 - y0));
        let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        s += &format!("<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n<text x=\"{LEFT}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>\n", escape(&self.title));
        for t in ticks(y0, y1) {
            let y = py(t);
            s += &format!("<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e3e3e3\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n", W - RIGHT, LEFT - 6.0, y + 4.0, fmt(t, self.y_percent));
        }
        for t in if self.x_log { log_ticks(x0, x1) } else { ticks(x0, x1) } {
            let v = if self.x_log { 10f64.powf(t) } else { t };
            let x = LEFT + (W - LEFT - RIGHT) * (t - x0) / (x1 - x0);
            s += &format!("<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e3e3e3\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n", H - BOTTOM, H - BOTTOM + 16.0, fmt(v, self.x_percent));
        }
        s += &format!("<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#888\"/>\n", W - LEFT - RIGHT, H - TOP - BOTTOM);
        s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n", (LEFT + W - RIGHT) / 2.0, H - 12.0, escape(&self.x_label));
        s += &format!("<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", (TOP + H - BOTTOM) / 2.0, escape(&self.y_label));
        if pts.is_empty() {
            s += &format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#888\">{}</text>\n", (LEFT + W - RIGHT) / 2.0, (TOP + H - BOTTOM) / 2.0, escape(&self.empty_note));
        }
        for (i, ser) in self.series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            let visible: Vec<&(f64, f64, String)> = ser.points.iter().filter(|p| p.0.is_finite() && p.1.is_finite() && (!self.x_log || p.0 > 0.0)).collect();
            if ser.line && visible.len() > 1 {
                let path: Vec<String> = visible.iter().map(|p| format!("{:.1},{:.1}", px(p.0), py(p.1))).collect();
                s += &format!("<polyline points=\"{}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\"/>\n", path.join(" "));
            }
            if ser.markers {
                for p in &visible {
                    s += &format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{c}\"><title>{}</title></circle>\n", px(p.0), py(p.1), escape(&p.2));
                }
            }
            // Legend, top right, one row per series.
            let ly = TOP + 14.0 + 15.0 * i as f64;
            s += &format!("<rect x=\"{:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n", W - RIGHT - 170.0, ly - 9.0, W - RIGHT - 155.0, ly, escape(&ser.label));
        }
        s += "</svg>\n";
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let t = ticks(0.0, 1.0);
        assert_eq!(t.len(), 6);
        assert!(t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]).all(|(a, b)| (a - b).abs() < 1e-9), "{t:?}");
        let t = ticks(3.2, 47.0);
        assert!(t.first().unwrap() >= &3.2 && t.last().unwrap() <= &47.0 && t.len() >= 4);
    }

    #[test]
    fn draws_points_lines_and_an_empty_note() {
        let c = Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_percent: false,
            y_percent: true,
            x_log: true,
            series: vec![Series { label: "a<b".into(), points: vec![(10.0, 0.5, "p".into()), (1000.0, 0.9, "q".into())], line: true, markers: true }],
            empty_note: "nothing to draw".into(),
        };
        let s = c.to_svg();
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(s.contains("<polyline") && s.contains("a&lt;b") && !s.contains("nothing to draw"));
        let empty = Chart { series: vec![], ..c }.to_svg();
        assert!(empty.contains("nothing to draw") && !empty.contains("<circle"));
    }
}
