//! The reliability diagram (Guo et al. 2017): per confidence bin, the accuracy of the
//! predictions in it against their mean confidence; a calibrated model lies on the diagonal.
//! The bins come from `crate::uncertainty::reliability`; this only draws them.

use super::svg::{Chart, Series};
use crate::uncertainty::ReliabilityBin;

/// The diagram as standalone SVG: one point per non-empty bin (its tooltip gives the count),
/// and the diagonal of perfect calibration.
pub fn reliability_svg(bins: &[ReliabilityBin], title: &str) -> String {
    let points = bins
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.confidence, b.accuracy, format!("confidence ({:.3}, {:.3}]: {} examples, mean {:.3}, accuracy {:.3}", b.lower, b.upper, b.count, b.confidence, b.accuracy)))
        .collect();
    Chart {
        title: title.into(),
        x_label: "confidence (mean in the bin)".into(),
        y_label: "accuracy in the bin".into(),
        x_percent: true,
        y_percent: true,
        x_log: false,
        series: vec![
            Series { label: "perfect calibration".into(), points: vec![(0.0, 0.0, String::new()), (1.0, 1.0, String::new())], line: true, markers: false },
            Series { label: "model".into(), points, line: true, markers: true },
        ],
        empty_note: "no examples".into(),
    }
    .to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_non_empty_bins_and_the_diagonal() {
        let bin = |i: usize, count: usize| ReliabilityBin { lower: i as f64 / 15.0, upper: (i + 1) as f64 / 15.0, count, confidence: (i as f64 + 0.5) / 15.0, accuracy: 0.5 };
        let svg = reliability_svg(&[bin(0, 0), bin(10, 7), bin(14, 3)], "Reliability");
        assert_eq!(svg.matches("<circle").count(), 2, "empty bins are not drawn");
        assert!(svg.contains("7 examples") && svg.contains("perfect calibration") && svg.contains("Reliability"));
    }
}
