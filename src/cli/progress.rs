//! A progress bar per epoch, with ETA, on standard error.

use indicatif::{ProgressBar, ProgressStyle};

pub fn epoch_bar(epoch: usize, epochs: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} batches  {elapsed_precise} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {}/{}", epoch + 1, epochs));
    bar
}
