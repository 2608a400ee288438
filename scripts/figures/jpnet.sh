#!/usr/bin/env bash
# Joint pruning of weights and activations (JPnet) on cnn: assets/configs/cnn-jpnet.toml (a
# learned threshold zeroing 75% of the activations after each ReLU, L1 0.01) fine-tuned from the
# dense assets/models/cnn-adam-s0.safetensors while global magnitude pruning raises the weight
# sparsity to 80% over 2 epochs (Adam 3e-4, 4 epochs, cosine, best validation epoch); then
# `aer eval` of it and of the dense model on the test split: weight sparsity, the measured
# share of nonzero inputs of each weight layer, and the multiply-adds left. Not part of CI.
#   scripts/figures/jpnet.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/jpnet}
cargo build --release --bin aer
AER=target/release/aer
[[ -f "$OUT/cnn/metrics.json" ]] || $AER train --model assets/configs/cnn-jpnet.toml --init assets/models/cnn-adam-s0.safetensors \
    --optimizer adam --lr 3e-4 --epochs 4 --prune-sparsity 0.8 --prune-ramp-epochs 2 --seed 0 --out "$OUT/cnn"
for ck in assets/models/cnn-adam-s0.safetensors "$OUT/cnn/best.safetensors"; do
    echo "== $ck"
    $AER eval --checkpoint "$ck" --batch-size 128
done
