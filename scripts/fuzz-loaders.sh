#!/usr/bin/env bash
# Mutation fuzzing of every loader of outside input (IDX, CIFAR, checkpoints and `aer resave`,
# `aer import` weights, pipeline, model and train TOML, benchmark JSON) at length:
# AER_FUZZ_ITERS mutated cases per loader (default 5000; the test suite runs 300), from the
# fixed sequence AER_FUZZ_SEED (default 33). Prints a table per loader; fails on any panic,
# hang (a case over 10 s) or checkpoint that loads other than it was written.
#   bash scripts/fuzz-loaders.sh
#   AER_FUZZ_ITERS=20000 AER_FUZZ_SEED=7 bash scripts/fuzz-loaders.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export AER_FUZZ_ITERS="${AER_FUZZ_ITERS:-5000}"
export AER_FUZZ_SEED="${AER_FUZZ_SEED:-33}"
cargo test --release --test fuzz_loaders -- --nocapture
