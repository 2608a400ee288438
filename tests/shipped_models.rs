//! The trained models in assets/models: each carries its checksum (so it loads) and no
//! optimizer state (nothing resumes from them; `--init` starts a fresh optimizer).

use aer::train::Checkpoint;
use std::path::Path;

#[test]
fn shipped_models_have_checksums_and_no_optimizer_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/models");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "safetensors")).collect();
    files.sort();
    assert_eq!(files.len(), 9, "{files:?}");
    for f in files {
        let ck = Checkpoint::load(&f).unwrap_or_else(|e| panic!("{e}"));
        let optimizer: Vec<&String> = ck.tensors.keys().filter(|k| k.starts_with("optimizer.")).collect();
        assert!(optimizer.is_empty(), "{}: {optimizer:?}", f.display());
        assert_eq!(ck.optimizer_step, 0, "{}", f.display());
        for w in ck.spec.weight_names() {
            assert!(ck.tensors.contains_key(&w), "{}: no {w}", f.display());
        }
    }
}
