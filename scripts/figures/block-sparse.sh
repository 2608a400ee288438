#!/usr/bin/env bash
# Block-sparse figures on the bundled MNIST: the trained dense cnn (assets/models) pruned to 91%
# of its hidden layers' weight blocks (90.5% of all its weights with blocks of 32) and fine-tuned,
# for blocks of 32 and 16, then evaluated (accuracy and cost per example); the block-sparse
# products against the dense ones and the training steps from the benchmark suite; and the
# crossover `aer tune` measures. Not part of CI (a few minutes on lavapipe).
#   scripts/figures/block-sparse.sh [OUT_DIR]      (default runs/block-sparse)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/block-sparse}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo build --release --bin aer --bin aer-bench
# Blocks of 32 for 20 epochs (assets/models/cnn-b32-s0.91), of 16 for 6 (cnn-b16-s0.91).
for run in 32:20 16:6; do
    block=${run%%:*} epochs=${run##*:}
    target/release/aer train --model cnn --init assets/models/cnn-adam-s0.safetensors \
        --block-sparsity 0.91 --block "$block" --optimizer adam --lr 1e-3 --epochs "$epochs" --seed 0 \
        --out "$OUT/cnn-b$block-s0.91" 2>&1 | grep -v '^epoch' | tail -4
    target/release/aer eval --checkpoint "$OUT/cnn-b$block-s0.91/best.safetensors"
done
target/release/aer-bench --filter bsr_ --runs 15 --out "$OUT/bsr.json"
target/release/aer-bench --filter train_step/cnn --runs 15 --out "$OUT/train-step.json"
target/release/aer tune
