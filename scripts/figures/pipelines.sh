#!/usr/bin/env bash
# The AER table of the pipeline presets on the bundled MNIST subset: every preset in
# assets/pipelines/ into runs/pipelines/<name>, then one report over all of them
# (runs/pipelines/report/). A stopped run resumes where it stopped when this is rerun.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo build --release --bin aer
for preset in "${@:-dense-pgd-at rigl lottery sparsity-sweep adv-gradual-prune ternary-pgd-at prune-ternary-pgd-at}"; do
    for p in $preset; do
        ./target/release/aer run "assets/pipelines/$p.toml" --out "runs/pipelines/$p"
    done
done
./target/release/aer report runs/pipelines
