//! The `aer` command line: argument parsing and the native drivers of the library's async
//! code (pollster blocks on the same futures the browser awaits).

mod args;
mod attack;
mod commands;
mod pipeline;
mod progress;
mod verify;

use clap::Parser;

/// Entry point of the `aer` binary; returns the process exit code.
pub fn main() -> i32 {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
