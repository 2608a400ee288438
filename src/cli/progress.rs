//! A progress bar per epoch, with ETA, on standard error.

use indicatif::{ProgressBar, ProgressStyle};

pub fn epoch_bar(epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    work_bar(&format!("epoch {}/{}", epoch + 1, epochs), batches, "batches")
}

/// A bar for `total` units of some labelled piece of work.
pub fn work_bar(label: &str, total: usize, units: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!("{{prefix}} [{{bar:30}}] {{pos}}/{{len}} {units}  {{elapsed_precise}} eta {{eta}}"))
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_string());
    bar
}
