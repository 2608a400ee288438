//! The `aer` command line: one module per subcommand (its flags and what it does), the option
//! groups they share (`options`), and the native drivers of the library's async code they
//! share (`common`, `progress`: pollster blocks on the same futures the browser awaits).

mod adapters;
mod attack;
mod common;
mod corrupt;
mod data;
mod demo;
mod eval;
mod export;
mod faults;
mod import;
mod options;
mod progress;
mod prune;
mod quantize;
mod report;
mod resave;
mod run;
mod shift;
mod siblings;
mod status;
mod stop;
mod train;
mod tune;
mod verify;
mod watermark;

use clap::{Parser, Subcommand};
use options::GpuArgs;

#[derive(Parser, Debug)]
#[command(name = "aer", version, about = "Train, prune, ternarize and attack neural networks on any GPU (WGSL on wgpu)")]
struct Cli {
    #[command(flatten)]
    gpu: GpuArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List every GPU adapter wgpu can see, with backend, driver and the limits that matter.
    Adapters(adapters::AdaptersArgs),
    /// The standard data sets by name: `aer data list | get NAME | verify NAME | path NAME`;
    /// a downloaded one is then `--data NAME` anywhere.
    Data(data::DataCmd),
    /// Train a model on a data set (by name, or an IDX or CIFAR data directory).
    Train(train::TrainArgs),
    /// Evaluate a checkpoint on the test (or validation) split.
    Eval(eval::EvalArgs),
    /// Prune while training: the lottery-ticket procedure (iterative magnitude pruning with
    /// rewinding; COLT with --colt-parts), reporting accuracy at every sparsity; with --adv
    /// the tickets train adversarially and are chosen by robust validation accuracy.
    Prune(prune::PruneArgs),
    /// Attack a checkpoint: robust accuracy per attack and in the worst case, a robustness
    /// curve, per-class results, minimal adversarial distances, sanity checks; writes JSON,
    /// a PNG grid and the adversarial examples.
    Attack(attack::AttackArgs),
    /// Transfer attacks through a full model's compressed siblings: PGD and APGD examples
    /// crafted on each sibling (and on an independently trained baseline) evaluated on the
    /// full model, input-gradient cosine and prediction agreement, and the Square attack on
    /// the full model with and without the sibling as a prior; writes siblings.json.
    Siblings(siblings::SiblingsArgs),
    /// Corruption benchmarks: accuracy on corrupted copies of the test split (MNIST-C for
    /// greyscale data, CIFAR-10-C for colour) per corruption and severity 1-5, generated on
    /// the GPU from a seed; mean corruption accuracy and, with --reference, the mean corruption
    /// error; writes <name>-shift.json, a heat map (SVG) and with --grid an image grid (PNG).
    Shift(shift::ShiftArgs),
    /// Verify a checkpoint with interval bounds: the share of examples provably robust at
    /// eps (no input in the L-inf ball changes the prediction), beside clean and PGD robust
    /// accuracy, with the check verified <= PGD <= clean per example; writes verify.json.
    Verify(verify::VerifyArgs),
    /// Parameter corruption: the largest loss increase a bounded weight perturbation causes
    /// (gradient ascent on the weights) against random perturbations of the same size, per
    /// layer and for all weights; writes corrupt.json.
    Corrupt(corrupt::CorruptArgs),
    /// Fault injection: accuracy and robust accuracy as random bit flips in the stored weights
    /// (f32, f16, packed ternary) grow, and under approximate 8-bit multipliers; writes
    /// faults.json.
    Faults(faults::FaultsArgs),
    /// Pack a quantized checkpoint's ternary weights (2 bits each, 16 per u32) for inference
    /// and attacks: reports the sizes and checks the packed model's test accuracy.
    Quantize(quantize::QuantizeArgs),
    /// Measure when pruned layers run faster on the block-sparse kernels than dense on this
    /// adapter (the largest share of kept blocks, per block size), and cache it for this
    /// adapter; train, eval and attack read it.
    Tune(tune::TuneArgs),
    /// Run a pipeline file: its stages in order, each from the previous stage's checkpoint,
    /// one run per combination of swept values; a stopped run resumes where it stopped.
    Run(run::PipelineArgs),
    /// The state of every point of a sweep's run directory (finished, running, pending,
    /// stopped, failed), read from the directory itself, with the Slurm job ids of an
    /// `aer run --executor slurm` and what Slurm says of them.
    Status(status::StatusArgs),
    /// The AER report of a directory of pipeline runs: a table (accuracy, robustness,
    /// sparsity, bits, bytes, FLOPs, time) and plots, as Markdown, HTML, CSV and JSON.
    Report(report::ReportArgs),
    /// Import weights trained elsewhere (safetensors, PyTorch naming: fc1.weight, conv1.bias...,
    /// or an nn.Sequential state dict) into a checkpoint, and test it.
    Import(import::ImportArgs),
    /// Export a checkpoint's weights as plain safetensors (PyTorch naming, f32; packed ternary
    /// weights dequantized, pruned weights zero).
    Export(export::ExportArgs),
    /// Train the mlp preset on the bundled MNIST subset and report test accuracy.
    Demo(demo::DemoArgs),
    /// Write a checkpoint again with its checksum (checkpoints from before checksums were
    /// mandatory are refused until then); --weights-only leaves out the optimizer state.
    Resave(resave::ResaveArgs),
    /// Ownership watermarks: `aer watermark keygen | embed | verify`: train in triggers
    /// derived from a secret key, and show a model carries them through its predictions.
    Watermark(watermark::WatermarkCmd),
}

/// Entry point of the `aer` binary; returns the process exit code.
pub fn main() -> i32 {
    init_logging();
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn dispatch(cli: Cli) -> crate::Result<()> {
    let gpu = &cli.gpu;
    match &cli.command {
        Command::Adapters(args) => adapters::run(gpu, args),
        Command::Data(args) => data::run(args),
        Command::Train(args) => train::run(gpu, args),
        Command::Eval(args) => eval::run(gpu, args),
        Command::Prune(args) => prune::run(gpu, args),
        Command::Attack(args) => attack::run(gpu, args),
        Command::Siblings(args) => siblings::run(gpu, args),
        Command::Shift(args) => shift::run(gpu, args),
        Command::Verify(args) => verify::run(gpu, args),
        Command::Corrupt(args) => corrupt::run(gpu, args),
        Command::Faults(args) => faults::run(gpu, args),
        Command::Quantize(args) => quantize::run(gpu, args),
        Command::Tune(args) => tune::run(gpu, args),
        Command::Run(args) => run::run(gpu, args),
        Command::Status(args) => status::run(args),
        Command::Report(args) => report::run(args),
        Command::Import(args) => import::run(gpu, args),
        Command::Export(args) => export::run(gpu, args),
        Command::Demo(args) => demo::run(gpu, args),
        Command::Resave(args) => resave::run(args),
        Command::Watermark(args) => watermark::run(gpu, args),
    }
}

/// Warnings (aer's and wgpu's) on standard error; `RUST_LOG` chooses more or less, e.g.
/// `RUST_LOG=wgpu_hal=info` or `RUST_LOG=off`.
pub fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).format_timestamp(None).init();
}
