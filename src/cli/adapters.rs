//! `aer adapters`: the GPU adapters wgpu can see.

use super::options::AdapterArgs;
use crate::gpu::list_adapters;
use crate::{AerError, Result};
use clap::Args;
use pollster::block_on;

#[derive(Args, Debug)]
pub struct AdaptersArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub gpu: AdapterArgs,
}

pub fn run(gpu_args: &AdapterArgs, args: &AdaptersArgs) -> Result<()> {
    let list = block_on(list_adapters(&gpu_args.choice()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list).unwrap());
        return Ok(());
    }
    if list.is_empty() {
        return Err(AerError::NoAdapter { detail: String::new() });
    }
    for (i, a) in list.iter().enumerate() {
        println!("[{i}] {}", a.describe());
    }
    Ok(())
}
