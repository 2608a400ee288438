//! Option groups and value lists that several subcommands share.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Which GPU adapter runs the command: the flags of every command that opens one, given
/// after the subcommand (`aer tune --adapter llvmpipe`).
#[derive(Args, Debug, Clone, Default)]
pub struct AdapterArgs {
    /// Use the adapter whose name contains this text (case-insensitive), e.g. llvmpipe, or the
    /// adapter of this number in `aer adapters`, e.g. 1.
    #[arg(help_heading = "GPU", long, env = "WGPU_ADAPTER_NAME")]
    pub adapter: Option<String>,
    /// Restrict to a backend: vulkan, gl, metal, dx12.
    #[arg(help_heading = "GPU", long, env = "WGPU_BACKEND")]
    pub backend: Option<String>,
}

impl AdapterArgs {
    pub fn choice(&self) -> crate::gpu::AdapterChoice {
        crate::gpu::AdapterChoice { name: self.adapter.clone(), backend: self.backend.clone() }
    }
}

/// The adapter, and the kernels that run a pruned model on it: the flags of the commands
/// that run a checkpoint's (possibly pruned) model.
#[derive(Args, Debug, Clone, Default)]
pub struct GpuArgs {
    #[command(flatten)]
    pub device: AdapterArgs,
    /// Keep every layer on the dense kernels (by default a pruned layer runs on the
    /// block-sparse ones when its share of kept blocks is below this adapter's crossover:
    /// see `aer tune`).
    #[arg(help_heading = "GPU", long)]
    pub dense_kernels: bool,
}

impl GpuArgs {
    pub fn choice(&self) -> crate::gpu::AdapterChoice {
        self.device.choice()
    }
}

#[derive(Args, Debug)]
pub struct DataArgs {
    /// A data set's name (mnist-10k, the bundled subset; mnist, fashion-mnist, cifar10,
    /// cifar100 once `aer data get NAME` has downloaded them) or a directory of MNIST-style
    /// IDX files (raw or .gz) or CIFAR binary batches.
    #[arg(help_heading = "Data", long, default_value = crate::data::BUNDLED)]
    pub data: PathBuf,
    /// Training images held out for validation (a fixed random choice) [default: 10% of
    /// them, at most 5,000].
    #[arg(help_heading = "Data", long)]
    pub val_size: Option<usize>,
}

impl DataArgs {
    /// The bundled MNIST subset with the usual validation share.
    pub fn bundled() -> DataArgs {
        DataArgs { data: PathBuf::from(crate::data::BUNDLED), val_size: None }
    }
}

/// The split a command evaluates on.
#[derive(Copy, Clone, Debug, ValueEnum, PartialEq)]
pub enum SplitArg {
    Test,
    Val,
}

impl SplitArg {
    /// The split's name and examples.
    pub fn pick(self, splits: &crate::data::Splits) -> (&'static str, &crate::data::Dataset) {
        match self {
            SplitArg::Val => ("validation", &splits.val),
            SplitArg::Test => ("test", &splits.test),
        }
    }

    /// The split's name and examples, refused when it has none (a validation split of
    /// `--val-size 0`).
    pub fn pick_some(self, splits: &crate::data::Splits) -> crate::Result<(&'static str, &crate::data::Dataset)> {
        let (name, data) = self.pick(splits);
        if data.is_empty() {
            return Err(crate::AerError::Invalid(format!("the {name} split holds no images: give --val-size 1 or more, or --split test")));
        }
        Ok((name, data))
    }
}

/// A count that must be at least 1 (a batch size, epochs): clap names the flag with the error.
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A radius or step on the command line: a number or a fraction such as `8/255`, finite and
/// at least 0.
pub fn radius(s: &str) -> Result<f32, String> {
    let parse = |t: &str| t.trim().parse::<f32>().map_err(|_| format!("'{s}' is not a number or a fraction such as 8/255"));
    let v = match s.split_once('/') {
        Some((a, b)) => {
            let d = parse(b)?;
            if d == 0.0 {
                return Err(format!("'{s}' divides by zero"));
            }
            parse(a)? / d
        }
        None => parse(s)?,
    };
    if !(v.is_finite() && v >= 0.0) {
        return Err(format!("'{s}' must be finite and at least 0"));
    }
    Ok(v)
}
