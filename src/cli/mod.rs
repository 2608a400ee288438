//! The `aer` command line: one module per subcommand (its flags and what it does), the option
//! groups they share (`options`), and the native drivers of the library's async code they
//! share (`common`, `progress`: pollster blocks on the same futures the browser awaits).

mod adapters;
mod attack;
mod calibrate;
mod common;
mod corrupt;
mod data;
mod deck;
mod demo;
mod eval;
mod export;
mod faults;
mod import;
mod ood;
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

#[derive(Parser, Debug)]
#[command(name = "aer", version, about = "Train, prune, ternarize and attack neural networks on any GPU (WGSL on wgpu)")]
struct Cli {
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
    Train(train::TrainCmd),
    /// Evaluate a checkpoint on the test (or validation) split: accuracy, calibration (ECE,
    /// NLL, Brier), cost; an ensemble (--ensemble), Monte Carlo dropout (--mc-dropout) or
    /// test-time augmentation (--tta); a reliability diagram (--reliability).
    Eval(eval::EvalArgs),
    /// Temperature scaling: fit the softmax temperature on the validation split, report ECE
    /// and NLL on validation and test before and after, and write a copy of the checkpoint
    /// holding it (<stem>-calibrated.safetensors; the input is not modified).
    Calibrate(calibrate::CalibrateArgs),
    /// Out-of-distribution detection: a checkpoint (or an ensemble) on its data's test images
    /// against another data set's, scored by maximum softmax probability, energy and
    /// entropy; AUROC and FPR at 95% TPR per score; writes <stem>-ood.json.
    Ood(ood::OodArgs),
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
    /// CARD-Decks: `aer deck build` writes a deck of compressed members with the spectra its
    /// gate compares test batches against (from validation images); `aer deck eval` measures
    /// the deck, each member and a reference model on clean and corrupted test images, with
    /// the members' stored bytes; writes deck.json.
    Deck(deck::DeckCmd),
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
    /// adapter (the largest share of kept blocks, per block size), and the fastest launch of
    /// the dense product per form and shape class, and cache both for this adapter; train,
    /// eval and attack read them.
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
    match &cli.command {
        Command::Adapters(args) => adapters::run(&args.gpu, args),
        Command::Data(args) => data::run(args),
        Command::Train(args) => train::run(&args.gpu, args),
        Command::Eval(args) => eval::run(&args.gpu, args),
        Command::Calibrate(args) => calibrate::run(&args.gpu, args),
        Command::Ood(args) => ood::run(&args.gpu, args),
        Command::Prune(args) => prune::run(&args.gpu, args),
        Command::Attack(args) => attack::run(&args.gpu, args),
        Command::Siblings(args) => siblings::run(&args.gpu, args),
        Command::Shift(args) => shift::run(&args.gpu, args),
        Command::Deck(args) => deck::run(args),
        Command::Verify(args) => verify::run(&args.gpu, args),
        Command::Corrupt(args) => corrupt::run(&args.gpu, args),
        Command::Faults(args) => faults::run(&args.gpu, args),
        Command::Quantize(args) => quantize::run(&args.gpu, args),
        Command::Tune(args) => tune::run(&args.gpu, args),
        Command::Run(args) => run::run(&args.gpu, args),
        Command::Status(args) => status::run(args),
        Command::Report(args) => report::run(args),
        Command::Import(args) => import::run(&args.gpu, args),
        Command::Export(args) => export::run(&args.gpu, args),
        Command::Demo(args) => demo::run(&args.gpu, args),
        Command::Resave(args) => resave::run(args),
        Command::Watermark(args) => watermark::run(args),
    }
}

/// Warnings (aer's and wgpu's) on standard error; `RUST_LOG` chooses more or less, e.g.
/// `RUST_LOG=wgpu_hal=info` or `RUST_LOG=off`.
pub fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).format_timestamp(None).init();
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    /// Every argument of every subcommand, as `aer SUB [SUB] --flag`, that has no help text.
    fn undocumented(cmd: &clap::Command, path: &str, found: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id != "help" && id != "version" && arg.get_help().is_none() && arg.get_long_help().is_none() {
                found.push(format!("{path} --{}", arg.get_long().unwrap_or(id)));
            }
        }
        for sub in cmd.get_subcommands() {
            if sub.get_about().is_none() && sub.get_long_about().is_none() && sub.get_name() != "help" {
                found.push(format!("{path} {} (the command itself)", sub.get_name()));
            }
            undocumented(sub, &format!("{path} {}", sub.get_name()), found);
        }
    }

    #[test]
    fn every_flag_has_a_description() {
        let mut found = Vec::new();
        undocumented(&Cli::command(), "aer", &mut found);
        assert!(found.is_empty(), "arguments without help text:\n{}", found.join("\n"));
    }

    /// The GPU flags are on the commands that open a GPU, after the subcommand; before it
    /// they are refused, and `--dense-kernels` is only where kernels are chosen.
    #[test]
    fn gpu_flags_belong_to_the_commands_that_use_them() {
        let cli = Cli::command();
        let flags = |sub: &[&str]| -> Vec<String> {
            let mut c = &cli;
            for s in sub {
                c = c.find_subcommand(s).unwrap_or_else(|| panic!("no subcommand {s}"));
            }
            c.get_arguments().filter_map(|a| a.get_long().map(String::from)).collect()
        };
        for sub in [&["data"][..], &["report"], &["status"], &["resave"], &["watermark", "keygen"]] {
            let f = flags(sub);
            assert!(!f.iter().any(|f| ["adapter", "backend", "dense-kernels"].contains(&f.as_str())), "aer {sub:?} has GPU flags: {f:?}");
        }
        // `--out` is a directory everywhere; the two commands that write one named file name
        // it with their own flag.
        assert!(flags(&["resave"]).contains(&"to".to_string()) && !flags(&["resave"]).contains(&"out".to_string()));
        assert!(flags(&["watermark", "keygen"]).contains(&"key".to_string()) && !flags(&["watermark", "keygen"]).contains(&"out".to_string()));
        for sub in [&["train"][..], &["eval"], &["attack"], &["siblings"], &["verify"], &["corrupt"], &["faults"], &["run"], &["watermark", "embed"], &["watermark", "verify"], &["deck", "build"], &["deck", "eval"]] {
            let f = flags(sub);
            assert!(["adapter", "backend", "dense-kernels"].iter().all(|g| f.iter().any(|f| f == g)), "aer {sub:?} lacks a GPU flag: {f:?}");
        }
        for sub in [&["adapters"][..], &["prune"], &["quantize"], &["tune"], &["import"], &["export"], &["demo"]] {
            let f = flags(sub);
            assert!(f.iter().any(|f| f == "adapter") && f.iter().any(|f| f == "backend") && !f.iter().any(|f| f == "dense-kernels"), "aer {sub:?}: {f:?}");
        }
        let before = Cli::try_parse_from(["aer", "--adapter", "llvmpipe", "tune"]).unwrap_err();
        assert_eq!(before.kind(), clap::error::ErrorKind::UnknownArgument, "{before}");
        assert!(Cli::try_parse_from(["aer", "tune", "--adapter", "llvmpipe"]).is_ok());
        let not_here = Cli::try_parse_from(["aer", "tune", "--dense-kernels"]).unwrap_err();
        assert_eq!(not_here.kind(), clap::error::ErrorKind::UnknownArgument, "{not_here}");
    }
}
