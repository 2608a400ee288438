//! `aer data`: the standard data sets by name — list them, download and check them, say where
//! they are. Once downloaded, `--data NAME` uses one anywhere a directory is accepted.

use crate::data::catalog::{self, data_root, entry, install_dir, installed, CATALOG, DATA_DIR_VAR};
use crate::data::download::{self, Fetch, MIRROR_VAR};
use crate::Result;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Args, Debug)]
pub struct DataCmd {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// The data sets aer knows, their size, and whether and where each is downloaded.
    List,
    /// Download a data set from its published mirrors (or AER_DATA_MIRROR), with resume and a
    /// progress bar; check every file's published MD5 and unpack it.
    Get {
        /// The data set's name (`aer data list` lists them).
        name: String,
        /// Download again even if it is there.
        #[arg(long)]
        force: bool,
    },
    /// Check a downloaded data set's files against their checksums.
    Verify {
        /// The data set's name.
        name: String,
    },
    /// Print a downloaded data set's directory (for scripts).
    Path {
        /// The data set's name.
        name: String,
    },
}

pub fn run(args: &DataCmd) -> Result<()> {
    let root = data_root()?;
    match &args.action {
        Action::List => {
            println!("data directory: {} (set {DATA_DIR_VAR} to move it)", root.display());
            println!("{:<14} {:>9}  {:<44} about", "name", "download", "installed");
            println!("{:<14} {:>9}  {:<44} the 10,000-image MNIST subset built into aer", crate::data::BUNDLED, "-", "bundled");
            for e in CATALOG {
                let at = installed(&root, e).map_or_else(|| "no".to_string(), |d| d.display().to_string());
                println!("{:<14} {:>6} MB  {:<44} {}", e.name, e.download_bytes().div_ceil(1_000_000), at, e.about);
            }
            Ok(())
        }
        Action::Get { name, force } => {
            let e = entry(name)?;
            if !force {
                if let Some(dir) = installed(&root, e) {
                    println!("{name} is already in {} (`aer data verify {name}` checks it; --force downloads it again)", dir.display());
                    return Ok(());
                }
            }
            let mirrors = download::mirrors(e);
            eprintln!("downloading {name} ({} MB) from {} into {}", e.download_bytes().div_ceil(1_000_000), mirrors.join(" or "), install_dir(&root, e).display());
            if std::env::var_os(MIRROR_VAR).is_some() {
                eprintln!("({MIRROR_VAR} is set: its mirror replaces the published ones)");
            }
            let mut bar: Option<ProgressBar> = None;
            let dir = download::get(e, &root, *force, &mut |ev| match ev {
                Fetch::Start { file, total, resumed_from, .. } => {
                    let b = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
                    b.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}").expect("template").progress_chars("=> "));
                    b.set_prefix(file.to_string());
                    b.set_position(resumed_from);
                    if resumed_from > 0 {
                        b.println(format!("{file}: resuming at {resumed_from} bytes"));
                    }
                    bar = Some(b);
                }
                Fetch::Progress(n) => bar.iter().for_each(|b| b.set_position(n)),
                Fetch::Retry { file, reason } => {
                    bar.take().iter().for_each(|b| b.abandon());
                    eprintln!("{file}: {reason}; trying again");
                }
                Fetch::Checked { file } => {
                    bar.take().iter().for_each(|b| b.finish_and_clear());
                    eprintln!("{file}: MD5 checked");
                }
                Fetch::Unpacking { file } => eprintln!("{file}: unpacking"),
            });
            bar.iter().for_each(|b| b.abandon());
            println!("{name}: {}", dir?.display());
            Ok(())
        }
        Action::Verify { name } => {
            let e = entry(name)?;
            let n = catalog::verify(&root, e)?;
            println!("{name}: {n} files match their checksums in {}", install_dir(&root, e).display());
            Ok(())
        }
        Action::Path { name } => {
            let e = entry(name)?;
            let dir = installed(&root, e).ok_or_else(|| crate::AerError::Invalid(format!("data set {name} is not downloaded; run `aer data get {name}`")))?;
            println!("{}", dir.display());
            Ok(())
        }
    }
}
