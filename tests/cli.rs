//! Bad input through the `aer` binary: every case exits non-zero with a message that names
//! the file or field and what was expected, and nothing panics.

mod common;

use common::{aer, fails_with, idx, tmpdir, write_tiny};

#[test]
fn missing_data_directory() {
    fails_with(&["train", "--data", "/nonexistent/aer-data"], &["/nonexistent/aer-data", "--data"]);
}

#[test]
fn missing_and_broken_idx_files() {
    let d = tmpdir("idx");
    let ds = d.to_str().unwrap();
    fails_with(&["train", "--data", ds], &["train-images-idx3-ubyte", "missing"]);
    write_tiny(&d, 20, 4);
    // Wrong magic: labels where images belong.
    std::fs::write(d.join("train-images-idx3-ubyte"), idx(0x801, &[20], &[0; 20])).unwrap();
    fails_with(&["train", "--data", ds, "--val-size", "5"], &["train-images-idx3-ubyte", "wrong magic", "0x00000803"]);
    // Truncated data.
    std::fs::write(d.join("train-images-idx3-ubyte"), idx(0x803, &[20, 4, 4], &[0; 100])).unwrap();
    fails_with(&["train", "--data", ds, "--val-size", "5"], &["train-images-idx3-ubyte", "truncated"]);
}

#[test]
fn model_spec_that_does_not_chain() {
    let d = tmpdir("spec");
    write_tiny(&d, 20, 4);
    let spec = d.join("bad.toml");
    std::fs::write(&spec, "name = \"bad\"\n[[layers]]\ntype = \"linear\"\nout = 8\n").unwrap();
    fails_with(
        &["train", "--data", d.to_str().unwrap(), "--val-size", "5", "--model", spec.to_str().unwrap()],
        &["layer 1 (linear)", "flatten"],
    );
    std::fs::write(&spec, "name = \"bad\"\n[[layers]]\ntype = \"conv2d\"\nout = 8\nkernel = 9\n[[layers]]\ntype = \"flatten\"\n[[layers]]\ntype = \"linear\"\n").unwrap();
    fails_with(&["train", "--data", d.to_str().unwrap(), "--val-size", "5", "--model", spec.to_str().unwrap()], &["layer 1 (conv2d)", "kernel 9"]);
}

#[test]
fn checkpoint_for_another_model_or_data() {
    let d = tmpdir("ckpt");
    write_tiny(&d, 30, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    let (ok, text) = aer(&["train", "--data", ds, "--val-size", "6", "--epochs", "1", "--batch-size", "8", "--out", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    let ck = out.join("best.safetensors");
    let cks = ck.to_str().unwrap();
    let (ok, text) = aer(&["eval", "--data", ds, "--val-size", "6", "--checkpoint", cks]);
    assert!(ok && text.contains("test accuracy"), "{text}");
    fails_with(&["eval", "--data", ds, "--val-size", "6", "--checkpoint", cks, "--model", "cnn"], &["best.safetensors", "mlp", "cnn"]);
    // Same checkpoint against data of another image size.
    let other = tmpdir("ckpt-other");
    write_tiny(&other, 30, 5);
    fails_with(&["eval", "--data", other.to_str().unwrap(), "--val-size", "6", "--checkpoint", cks], &["best.safetensors", "[1, 4, 4]"]);
    // Resuming with other settings is refused.
    fails_with(
        &["train", "--data", ds, "--val-size", "6", "--epochs", "2", "--batch-size", "8", "--lr", "0.1", "--out", out.to_str().unwrap(), "--resume"],
        &["last.safetensors", "other settings"],
    );
    // A truncated checkpoint is reported, not used.
    let bytes = std::fs::read(&ck).unwrap();
    std::fs::write(&ck, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(&["eval", "--data", ds, "--val-size", "6", "--checkpoint", cks], &["best.safetensors", "truncated"]);
    fails_with(&["eval", "--data", ds, "--checkpoint", "/nonexistent/x.safetensors"], &["/nonexistent/x.safetensors", "cannot read"]);
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["adapters", "train", "eval", "attack", "verify", "corrupt", "faults", "prune", "quantize", "tune", "demo"] {
        let (ok, text) = aer(&[sub, "--help"]);
        assert!(ok && text.contains("Usage"), "{sub} --help:\n{text}");
    }
    // Training's many flags are grouped under headings.
    let (_, text) = aer(&["train", "--help"]);
    for heading in ["Data:", "Model:", "Run:", "Optimizer:", "Adversarial training:", "Certified training:", "Quantization:", "Pruning:", "GPU:"] {
        assert!(text.lines().any(|l| l == heading), "no '{heading}' heading in train --help:\n{text}");
    }
    // So are the other long lists; the GPU's only where a GPU is opened.
    for (sub, headings) in [(&["attack"][..], &["Model:", "Data:", "Attack:", "Run:", "GPU:"][..]), (&["run"], &["Run:", "Executor:", "Slurm:", "GPU:"]), (&["faults"], &["Faults:", "GPU:"]), (&["deck", "build"], &["Deck:", "Data:", "Run:", "GPU:"]), (&["deck", "eval"], &["Deck:", "Data:", "Corruptions:", "Model:", "Run:", "GPU:"])] {
        let (_, text) = aer(&[sub, &["--help"]].concat());
        for heading in headings {
            assert!(text.lines().any(|l| l == *heading), "no '{heading}' heading in {sub:?} --help:\n{text}");
        }
    }
    for sub in [&["data", "get"][..], &["report"], &["status"], &["resave"], &["watermark", "keygen"]] {
        let (ok, text) = aer(&[sub, &["--help"]].concat());
        assert!(ok && !text.contains("GPU:") && !text.contains("--adapter"), "{sub:?} --help:\n{text}");
    }
}

/// `--out` is a directory for every command that writes results or checkpoints: a file there
/// is refused before anything runs, and a checkpoint shipped under assets/ has its results
/// written under runs/<name>/, never beside it.
#[test]
fn out_is_a_directory_and_nothing_is_written_into_assets() {
    let d = tmpdir("out-dir");
    let file = d.join("results.json");
    std::fs::write(&file, "{}").unwrap();
    let (f, shipped) = (file.to_str().unwrap(), "assets/models/mlp-demo.safetensors");
    let key = d.join("owner.key");
    assert!(aer(&["watermark", "keygen", "--key", key.to_str().unwrap()]).0);
    let with_checkpoint: [&[&str]; 8] = [
        &["attack", "--checkpoint", shipped],
        &["verify", "--checkpoint", shipped],
        &["corrupt", "--checkpoint", shipped],
        &["faults", "--checkpoint", shipped],
        &["quantize", "--checkpoint", shipped],
        &["export", "--checkpoint", shipped],
        &["siblings", "--full", shipped, "--sibling", shipped],
        &["watermark", "verify", "--key", key.to_str().unwrap(), "--checkpoint", shipped],
    ];
    for args in with_checkpoint.iter().copied().chain([&["import", "--weights", shipped][..]]) {
        fails_with(&[args, &["--out", f]].concat(), &[f, "--out takes a directory"]);
    }
    // Run from another directory: runs/ is that directory's, and assets/models gains nothing.
    let before = std::fs::read_dir("assets/models").unwrap().count();
    let ck = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(shipped);
    let out = common::aer_command(&["export", "--checkpoint", ck.to_str().unwrap()]).current_dir(&d).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(d.join("runs/mlp-demo/mlp-demo-export.safetensors").is_file());
    assert_eq!(std::fs::read_dir("assets/models").unwrap().count(), before, "export wrote into assets/models");
    // GPU flags follow the subcommand; before it they are refused by name.
    fails_with(&["--adapter", "llvmpipe", "adapters"], &["--adapter"]);
    fails_with(&["data", "list", "--dense-kernels"], &["--dense-kernels"]);
}

#[test]
fn adversarial_training_and_attack_write_their_results() {
    let d = tmpdir("attack");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    // A run file sets training and adversarial training; a flag overrides its epochs.
    let config = d.join("run.toml");
    std::fs::write(&config, "[train]\nepochs = 3\nbatch_size = 8\n[train.adv]\nmethod = \"fgsm\"\neps = 0.1\nval_examples = 4\n[attack]\nsteps = 3\napgd_steps = 4\n").unwrap();
    let cs = config.to_str().unwrap();
    let (ok, text) = aer(&["train", "--data", ds, "--val-size", "8", "--config", cs, "--epochs", "1", "--out", out.to_str().unwrap()]);
    assert!(ok && text.contains("val-robust") && text.contains("epoch   1/1"), "{text}");
    let ck = out.join("best.safetensors");
    let att = d.join("att");
    let (ok, text) = aer(&[
        "attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--config", cs, "--n", "12",
        "--attacks", "fgsm,pgd,pgd-t,apgd-ce,apgd-dlr", "--curve", "0,0.1,1", "--distance-n", "6", "--transfer-to", ck.to_str().unwrap(),
        "--out", att.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    for needle in ["PGD-3 ", "PGD-T-3", "APGD-DLR", "worst case robust accuracy", "minimal Linf distance", "transfer", "gradient masking"] {
        assert!(text.contains(needle), "expected '{needle}' in:\n{text}");
    }
    // Under --out, in a directory named after the checkpoint.
    let att = att.join("best-attack");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(att.join("robustness.json")).unwrap()).unwrap();
    assert_eq!(json["examples"], 12);
    assert_eq!(json["attacks"].as_array().unwrap().len(), 5);
    assert_eq!(json["curve"]["points"].as_array().unwrap().len(), 3);
    assert_eq!(json["per_class"].as_array().unwrap().len(), 3);
    let bytes = std::fs::read(att.join("examples.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("adversarial").unwrap().shape(), &[12, 1, 4, 4]);
    assert_eq!(st.tensor("min_distance").unwrap().shape(), &[12]);
    assert!(std::fs::read(att.join("examples.png")).unwrap().starts_with(b"\x89PNG"));

    fails_with(&["train", "--data", ds, "--val-size", "8", "--adv-eps", "0.1"], &["--adv"]);
    // A misspelt key in the file's method table is an error, not a table replaced by --adv's defaults.
    let misspelt = d.join("misspelt.toml");
    std::fs::write(&misspelt, "[train.adv]\nepss = 0.1\n").unwrap();
    fails_with(&["train", "--data", ds, "--val-size", "8", "--config", misspelt.to_str().unwrap(), "--adv", "pgd"], &["'adv'", "epss"]);
    // Radii as fractions of the pixel range; L-inf radii beyond it are refused.
    let (ok, text) = aer(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--n", "4", "--attacks", "fgsm", "--eps", "8/255", "--curve", "0,0.1", "--distance-n", "0", "--out", d.join("att-frac").to_str().unwrap()]);
    assert!(ok && text.contains("0.031"), "--eps 8/255: {text}");
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--eps", "8/0"], &["--eps", "8/0", "divides by zero"]);
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--eps=-0.1"], &["--eps", "at least 0"]);
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--eps", "8"], &["L-inf eps 8", "8/255"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--adv", "pgd", "--adv-eps", "3"], &["L-inf eps 3", "pixel units"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--adv", "pgd", "--adv-balance"], &["share", "--adv-share"]);
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--n", "0"], &["--n 0"]);
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--attacks", "apgd-t"], &["apgd-t", "4 classes"]);
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--attacks", "standard"], &["standard", "apgd-t", "4 classes", "apgd-ce,fab-t,square"]);
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--attacks", "square", "--norm", "l2"], &["square", "L-inf only", "--norm linf"]);
    // FAB-T and Square alone, on small budgets; Square's queries are reported.
    let fs = d.join("att-fab-square");
    let (ok, text) = aer(&[
        "attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--n", "8", "--attacks", "fab-t,square", "--fab-steps", "5",
        "--square-queries", "50", "--curve", "--distance-n", "0", "--out", fs.to_str().unwrap(),
    ]);
    assert!(ok && text.contains("FAB-T") && text.contains("Square-50") && text.contains("queries mean"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(fs.join("best-attack/robustness.json")).unwrap()).unwrap();
    let attacks = json["attacks"].as_array().unwrap();
    assert_eq!(attacks[0]["config"]["restarts"], 2, "3 classes leave FAB-T 2 runner-up targets");
    assert!(attacks[1]["queries"]["median"].as_u64().unwrap() <= 50, "{}", attacks[1]);
    std::fs::write(&config, "[attack]\nepsilon = 0.3\n").unwrap();
    fails_with(&["attack", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--config", cs], &["run.toml", "epsilon"]);
}

#[test]
fn lottery_ticket_command() {
    let d = tmpdir("prune");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("lt");
    let (ok, text) = aer(&["prune", "--data", ds, "--val-size", "8", "--epochs", "1", "--batch-size", "8", "--rounds", "2", "--rate", "0.5", "--out", out.to_str().unwrap()]);
    assert!(ok && text.contains("round  2:  25.00% of weights"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("lottery.json")).unwrap()).unwrap();
    assert_eq!(json["rounds"].as_array().unwrap().len(), 3);
    fails_with(&["prune", "--data", ds, "--val-size", "8", "--rate", "1.5"], &["--rate 1.5"]);
    fails_with(&["prune", "--data", ds, "--val-size", "8", "--epochs", "2", "--rewind-epoch", "2"], &["--rewind-epoch 2", "--epochs 2"]);
}

/// HYDRA, hard-concrete gates, early-bird tickets and COLT from the command line, the mask
/// distance between two of their checkpoints, and settings that cannot work refused.
#[test]
fn learned_masks_early_bird_and_colt_commands() {
    let d = tmpdir("learned-masks");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let common = ["--data", ds, "--val-size", "8", "--batch-size", "8"];
    let run = |name: &str, extra: &[&str]| {
        let out = d.join(name);
        let (ok, text) = aer(&[&["train"][..], &common, extra, &["--out", out.to_str().unwrap()]].concat());
        assert!(ok, "{text}");
        (out.join("best.safetensors"), text)
    };
    let (hydra, text) = run("hydra", &["--hydra", "0.5", "--mask-epochs", "1", "--epochs", "1"]);
    assert!(text.contains("HYDRA scores, epoch 1/1") && text.contains("pruned 50.0% of the weights by the learned HYDRA scores"), "{text}");
    let (gates, text) = run("gates", &["--hard-concrete", "0.5", "--mask-epochs", "1", "--epochs", "1", "--mask-global"]);
    assert!(text.contains("hard-concrete gates, epoch 1/1") && text.contains("(Global)"), "{text}");
    let (_, text) = run("early-bird", &["--early-bird", "0.5", "--epochs", "4", "--early-bird-threshold", "1"]);
    assert!(text.contains("early-bird ticket drawn"), "{text}");
    let (ok, text) = aer(&[&["eval"][..], &common[..4], &["--checkpoint", hydra.to_str().unwrap(), "--mask-distance", gates.to_str().unwrap()]].concat());
    let overall: f64 = text.lines().find_map(|l| l.strip_prefix("mask distance overall: ")).and_then(|v| v.parse().ok()).unwrap_or(-1.0);
    assert!(ok && overall > 0.0 && overall <= 1.0, "{text}");
    let (ok, text) = aer(&["prune", "--data", ds, "--val-size", "8", "--epochs", "1", "--batch-size", "8", "--rounds", "1", "--rate", "0.5", "--colt-parts", "2", "--out", d.join("colt").to_str().unwrap()]);
    assert!(ok && text.contains("COLT over 2 data shares") && text.contains("round  1:"), "{text}");
    fails_with(&[&["train"][..], &common, &["--mask-epochs", "2"]].concat(), &["--mask-epochs", "--hydra"]);
    fails_with(&[&["train"][..], &common, &["--hydra", "1.2"]].concat(), &["sparsity 1.2"]);
    fails_with(&[&["train"][..], &common, &["--early-bird", "0.5", "--epochs", "1"]].concat(), &["early-bird", "epochs"]);
    fails_with(&[&["train"][..], &common, &["--hydra", "0.5", "--snip", "0.5"]].concat(), &["--hydra", "--snip"]);
}

/// Ternary training with HQ, packing with the cosine distances and the f16-activation
/// accuracy (where the adapter has shader-f16), evaluation of the packed file in f16, and
/// settings that cannot work refused.
#[test]
fn hq_quantize_and_f16_activation_commands() {
    let d = tmpdir("hq-f16");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let common = ["--data", ds, "--val-size", "8", "--batch-size", "8"];
    let out = d.join("hq");
    let (ok, text) = aer(&[&["train"][..], &common, &["--quant", "twn", "--hq", "0.5", "--epochs", "2", "--out", out.to_str().unwrap()]].concat());
    assert!(ok && text.contains("HQ on the hypersphere") && text.contains("HQ reinitialised"), "{text}");
    let (latent, packed) = (out.join("best.safetensors"), d.join("best-packed.safetensors"));
    let f16 = pollster::block_on(aer::gpu::Gpu::new(&aer::gpu::AdapterChoice::from_env())).unwrap().has_f16();
    let mut args = vec!["quantize", "--data", ds, "--val-size", "8", "--checkpoint", latent.to_str().unwrap(), "--out", ds];
    if f16 {
        args.push("--f16-activations");
    }
    let (ok, text) = aer(&args);
    assert!(ok && text.contains("cosine distance to f32"), "{text}");
    assert_eq!(text.contains("packed with f16 activations"), f16, "{text}");
    if f16 {
        let (ok, text) = aer(&[&["eval"][..], &common[..4], &["--checkpoint", packed.to_str().unwrap(), "--f16-activations"]].concat());
        assert!(ok && text.contains("test accuracy"), "{text}");
    }
    fails_with(&[&["eval"][..], &common[..4], &["--checkpoint", latent.to_str().unwrap(), "--f16-activations"]].concat(), &[latent.to_str().unwrap(), "no packed ternary layers"]);
    fails_with(&[&["train"][..], &common, &["--quant", "ttq", "--hq", "0.5"]].concat(), &["--hq", "--quant twn"]);
    fails_with(&[&["train"][..], &common, &["--quant", "twn", "--hq", "1.5"]].concat(), &["HQ", "sparsity"]);
    fails_with(&[&["train"][..], &common, &["--quant", "twn", "--hq", "0.5", "--epochs", "1"]].concat(), &["HQ", "2 epochs"]);
    fails_with(&[&["train"][..], &common, &["--hq", "0.5"]].concat(), &["--quant"]);
}

/// Block pruning before training, the pruned layer on the block-sparse kernels in training and
/// evaluation (the same accuracy as on the dense kernels), and bad block settings refused.
#[test]
fn block_sparse_training_and_evaluation() {
    let d = tmpdir("block-sparse");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    let common = ["--data", ds, "--val-size", "8"];
    let (ok, text) = aer(&[&["train"][..], &common, &["--epochs", "1", "--batch-size", "8", "--block-sparsity", "0.5", "--block", "32", "--out", out.to_str().unwrap()]].concat());
    assert!(ok && text.contains("pruned 50% of each hidden layer's 32x32 weight blocks") && text.contains("block-sparse kernels: fc2.weight (blocks of 32"), "{text}");
    let ck = out.join("best.safetensors");
    let eval = |extra: &[&str]| {
        let (ok, text) = aer(&[&["eval"][..], &common, &["--checkpoint", ck.to_str().unwrap()], extra].concat());
        assert!(ok, "{text}");
        let acc = text.lines().find(|l| l.starts_with("test accuracy")).map(|l| l.split_whitespace().nth(2).unwrap().to_string());
        (acc.unwrap_or_default(), text)
    };
    let (sparse, text) = eval(&[]);
    assert!(text.contains("block-sparse kernels: fc2.weight") && text.contains("cost per example"), "{text}");
    let (dense, text) = eval(&["--dense-kernels"]);
    assert!(!text.contains("block-sparse kernels"), "{text}");
    assert_eq!(sparse, dense, "the same model on either kernels");
    fails_with(&[&["train"][..], &common, &["--block-sparsity", "1.5"]].concat(), &["--block-sparsity 1.5"]);
    fails_with(&[&["train"][..], &common, &["--block-sparsity", "0.5", "--block", "5"]].concat(), &["--block 5", "[4, 8, 16, 32]"]);
}

#[test]
fn certified_training_and_verification_write_their_results() {
    let d = tmpdir("verify");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    let run = |extra: &[&str]| {
        let mut args = vec!["train", "--data", ds, "--val-size", "8", "--epochs", "2", "--batch-size", "8", "--out", out.to_str().unwrap()];
        args.extend(extra);
        aer(&args)
    };
    let (ok, text) = run(&["--certify", "0.05", "--certify-warmup-epochs", "0", "--certify-ramp-epochs", "1", "--dynamic-sparsity", "0.5", "--dynamic-update-every", "2"]);
    assert!(ok && text.contains("val-verified") && text.contains("dynamic sparse training"), "{text}");
    let ck = out.join("best.safetensors");
    // By default into the checkpoint's run directory, under its name.
    let json_path = out.join("best-verify.json");
    let (ok, text) = aer(&["verify", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--eps", "0,0.05,1", "--pgd-steps", "3"]);
    assert!(ok && text.contains("verified"), "{text}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let rows = json["results"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for r in rows {
        assert_eq!(r["order_holds"], true, "{r}");
        assert!(r["verified_accuracy"].as_f64().unwrap() <= r["clean_accuracy"].as_f64().unwrap());
    }
    assert_eq!(rows[2]["verified_accuracy"], 0.0, "nothing is verified when the box is the whole input range");
    assert!(json["soundness_problems"].as_array().unwrap().is_empty());

    fails_with(&["train", "--data", ds, "--val-size", "8", "--certify", "0.1", "--adv", "pgd"], &["--certify", "--adv"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--certify=-1"], &["radius", "-1"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--dynamic-sparsity", "1.5"], &["1.5", "share of weights"]);
    let (ok, text) = run(&["--nm", "2:4"]);
    assert!(ok && text.contains("pruned to 2:4"), "{text}");
    let (ok, text) = run(&["--channel-sparsity", "0.5"]);
    assert!(ok && text.contains("output channels"), "{text}");
    fails_with(&["train", "--data", ds, "--val-size", "8", "--nm", "5:4"], &["--nm 5:4", "N <= M"]);
    let (ok, text) = run(&["--prune-sparsity", "0.6", "--prune-ramp-epochs", "2"]);
    assert!(ok && text.contains("epoch 1: pruned to 52.5% sparsity") && text.contains("epoch 2: pruned to 60.0% sparsity"), "{text}");
    fails_with(&["train", "--data", ds, "--val-size", "8", "--epochs", "2", "--prune-sparsity", "0.6", "--prune-ramp-epochs", "3"], &["ramp_epochs 3", "2 training epochs"]);
    let (ok, text) = run(&["--snip", "0.5"]);
    assert!(ok && text.contains("SNIP: pruned 50.0%"), "{text}");
    fails_with(&["train", "--data", ds, "--val-size", "8", "--snip", "1.5"], &["--snip 1.5", "from 0 up to"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--snip", "0.5", "--dynamic-sparsity", "0.5"], &["--snip", "--dynamic-sparsity"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--nm", "2:4", "--dynamic-sparsity", "0.5"], &["--nm"]);
    fails_with(&["verify", "--data", ds, "--val-size", "8", "--checkpoint", ck.to_str().unwrap(), "--eps=-0.1"], &["--eps", "-0.1", "at least 0"]);
}

/// `--adapter N` opens adapter number N of `aer adapters` (not the first name containing the
/// digit); a number past the list is refused with how many there are.
#[test]
fn adapter_by_number() {
    use aer::gpu::{list_adapters, AdapterChoice, Gpu};
    let listed = pollster::block_on(list_adapters(&AdapterChoice::default())).unwrap();
    let gpu = pollster::block_on(Gpu::new(&AdapterChoice { name: Some("0".into()), backend: None })).unwrap();
    assert_eq!(gpu.info.name, listed[0].name);
    fails_with(&["tune", "--quick", "--adapter", "99"], &["--adapter 99", "no adapter number 99", "aer adapters"]);
}

/// A training run that diverges stops at its first non-finite epoch with the learning rate
/// to lower, keeps the checkpoints before it readable, and writes no JSON with nulls; a
/// learning rate that cannot train is refused and a huge one warned about.
#[test]
fn diverging_training_stops_and_keeps_the_last_finite_checkpoint() {
    let d = tmpdir("diverge");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    let (ok, text) = aer(&["train", "--data", ds, "--val-size", "8", "--epochs", "4", "--batch-size", "8", "--optimizer", "sgd", "--lr", "1e9", "--schedule", "constant", "--out", out.to_str().unwrap()]);
    assert!(!ok, "{text}");
    for needle in ["warning: learning rate 1e9", "(diverged); lower the learning rate (--lr, now 1e9)"] {
        assert!(text.contains(needle), "expected '{needle}' in:\n{text}");
    }
    let epoch: usize = text.lines().find_map(|l| l.strip_prefix("error: epoch ")?.split(':').next()?.parse().ok()).expect("the epoch that diverged");
    assert!(!out.join("metrics.json").exists());
    let last = out.join("last.safetensors");
    if epoch > 1 {
        let ck = aer::train::Checkpoint::load(&last).unwrap();
        assert_eq!(ck.epoch, epoch - 1, "the last finite epoch's checkpoint is kept");
        assert!(ck.history.iter().all(|r| r.non_finite().is_none()));
        // The curve up to the last finite epoch, written after each epoch.
        let progress: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("progress.json")).unwrap()).unwrap();
        assert_eq!(progress["epochs_done"], serde_json::json!(epoch - 1));
        assert_eq!(progress["history"].as_array().unwrap().len(), epoch - 1);
    } else {
        assert!(!last.exists());
    }
    assert!(!out.join(aer::files::LOCK_FILE).exists(), "the lock goes when the run stops");
    for lr in ["0", "-0.1", "NaN"] {
        fails_with(&["train", "--data", ds, "--val-size", "8", "--epochs", "1", &format!("--lr={lr}"), "--out", d.join("bad-lr").to_str().unwrap()], &[&format!("learning rate {lr}"), "positive"]);
    }
}

#[test]
fn zero_batch_size_and_empty_data_are_refused() {
    let d = tmpdir("batch0");
    write_tiny(&d, 20, 4);
    let ds = d.to_str().unwrap();
    let ck = d.join("missing.safetensors");
    let cks = ck.to_str().unwrap();
    fails_with(&["train", "--data", ds, "--val-size", "5", "--batch-size", "0"], &["--batch-size", "at least 1"]);
    fails_with(&["train", "--data", ds, "--val-size", "5", "--epochs", "0"], &["--epochs", "at least 1"]);
    for sub in ["eval", "attack", "verify", "quantize", "faults"] {
        fails_with(&[sub, "--data", ds, "--val-size", "5", "--checkpoint", cks, "--batch-size", "0"], &["--batch-size", "at least 1"]);
    }
    let file = d.join("batch0.toml");
    std::fs::write(&file, format!("name = \"b0\"\ndata = \"{ds}\"\nval_size = 5\n[[stages]]\nkind = \"train\"\n[stages.train]\nbatch_size = 0\n")).unwrap();
    fails_with(&["run", file.to_str().unwrap(), "--out", d.join("runs").to_str().unwrap()], &["stage 1 (train)", "batch_size 0"]);
    std::fs::write(&file, format!("name = \"b0\"\ndata = \"{ds}\"\nval_size = 5\n[[stages]]\nkind = \"train\"\n[stages.train.optimizer]\nlr = -1.0\n")).unwrap();
    fails_with(&["run", file.to_str().unwrap(), "--out", d.join("runs").to_str().unwrap()], &["stage 1 (train)", "lr -1"]);
    // An empty validation split: nothing to choose the best epoch on, nothing to evaluate.
    fails_with(&["train", "--data", ds, "--val-size", "0", "--epochs", "1", "--out", d.join("val0").to_str().unwrap()], &["no validation images", "--val-size"]);
    let out = d.join("run");
    let (ok, text) = aer(&["train", "--data", ds, "--val-size", "5", "--epochs", "1", "--batch-size", "8", "--out", out.to_str().unwrap()]);
    assert!(ok, "{text}");
    fails_with(&["eval", "--data", ds, "--val-size", "0", "--split", "val", "--checkpoint", out.join("best.safetensors").to_str().unwrap()], &["validation split holds no images"]);
    // No test images: an error, not an accuracy of 0/0.
    std::fs::write(d.join("t10k-images-idx3-ubyte"), idx(0x803, &[0, 4, 4], &[])).unwrap();
    std::fs::write(d.join("t10k-labels-idx1-ubyte"), idx(0x801, &[0], &[])).unwrap();
    fails_with(&["train", "--data", ds, "--val-size", "5", "--out", d.join("run2").to_str().unwrap()], &["test files hold no images"]);
}

#[test]
fn a_label_beyond_the_classes_is_refused() {
    let d = tmpdir("labels");
    write_tiny(&d, 20, 4);
    let mut labels: Vec<u8> = (0..20).map(|i| (i % 3) as u8).collect();
    labels[7] = 200;
    std::fs::write(d.join("train-labels-idx1-ubyte"), idx(0x801, &[20], &labels)).unwrap();
    fails_with(&["train", "--data", d.to_str().unwrap(), "--val-size", "5"], &["train-labels-idx1-ubyte", "label 200 at index 7", "classes 3 to 199 have no example"]);
}

/// A run directory is one run's: a second run into it is refused while the first runs, and
/// what a crashed run left (its lock, half-written temp files) is cleaned up by the next.
#[test]
fn run_directories_are_locked_and_cleaned_after_a_crash() {
    let d = tmpdir("run-lock");
    write_tiny(&d, 30, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    std::fs::create_dir_all(&out).unwrap();
    // This test process stands for a run that is going.
    let me = std::process::id().to_string();
    std::fs::write(out.join(aer::files::LOCK_FILE), &me).unwrap();
    let train = ["train", "--data", ds, "--val-size", "6", "--epochs", "1", "--batch-size", "8", "--out", out.to_str().unwrap()];
    fails_with(&train, &[&format!("{} is in use by another aer run (pid {me}); wait for it or use another --out", out.display())]);
    let file = d.join("p.toml");
    std::fs::write(&file, format!("name = \"p\"\ndata = \"{ds}\"\nval_size = 6\n[[stages]]\nkind = \"train\"\n[stages.train]\nepochs = 1\nbatch_size = 8\n")).unwrap();
    fails_with(&["run", file.to_str().unwrap(), "--out", out.to_str().unwrap()], &["is in use by another aer run", &me]);
    // The run that held it crashed (a pid no process has), mid-write.
    let dead = "4000000000";
    std::fs::write(out.join(aer::files::LOCK_FILE), dead).unwrap();
    std::fs::write(out.join(format!("last.tmp{dead}")), b"half a checkpoint").unwrap();
    let (ok, text) = aer(&train);
    assert!(ok && text.contains("took over the lock of pid 4000000000") && text.contains("removed 1 half-written temp file"), "{text}");
    assert!(!out.join(format!("last.tmp{dead}")).exists() && !out.join(aer::files::LOCK_FILE).exists());
    let runs = d.join("runs");
    std::fs::create_dir_all(runs.join("00-x")).unwrap();
    std::fs::write(runs.join("00-x").join(format!("run.tmp{dead}")), b"half").unwrap();
    let (ok, text) = aer(&["run", file.to_str().unwrap(), "--out", runs.to_str().unwrap()]);
    assert!(ok && text.contains("removed 1 half-written temp file"), "{text}");
    assert!(!runs.join("00-x").join(format!("run.tmp{dead}")).exists() && !runs.join(aer::files::LOCK_FILE).exists());
}

/// The CIFAR recipe file with flags over it (fewer epochs, their milestones, a crop that fits
/// 4x4 images), and bad schedules and crops refused by name.
#[test]
fn recipe_with_augmentation_and_piecewise_schedule() {
    let d = tmpdir("recipe");
    write_tiny(&d, 40, 4);
    let ds = d.to_str().unwrap();
    let out = d.join("run");
    let recipe = ["train", "--data", ds, "--val-size", "8", "--batch-size", "8", "--config", "assets/configs/cifar10-sgd.toml"];
    let args = [&recipe[..], &["--epochs", "2", "--milestones", "1", "--lr-factor", "0.5", "--augment-crop", "1", "--out", out.to_str().unwrap()]].concat();
    let (ok, text) = aer(&args);
    assert!(ok && text.contains("epoch   2/2"), "{text}");
    let metrics: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let progress: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("progress.json")).unwrap()).unwrap();
    assert_eq!((&progress["epochs_done"], &progress["history"]), (&serde_json::json!(2), &metrics["history"]));
    let cfg = &metrics["config"];
    assert_eq!((&cfg["schedule"], &cfg["milestones"], &cfg["lr_factor"]), (&"piecewise".into(), &serde_json::json!([1]), &serde_json::json!(0.5)));
    assert_eq!(cfg["augment"], serde_json::json!({ "crop": 1, "flip": true }));

    fails_with(&[&recipe[..], &["--epochs", "2"]].concat(), &["milestones [100, 150]", "below the run's 2 epochs"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--milestones", "1"], &["piecewise", "--schedule"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--epochs", "1", "--augment-crop", "4"], &["crop 4", "4x4"]);
    fails_with(&["train", "--data", ds, "--val-size", "8", "--augment-crop", "0"], &["augment", "crop"]);
}
