#!/usr/bin/env bash
# Dynamic sparse training from scratch on mlp at 90% sparsity (ERK layer densities, masks
# updated every 50 steps, drop fraction 0.3 with cosine decay, updates stopping at 75% of
# training), RigL and SET, against the dense model with the same recipe (Adam 1e-3, cosine,
# 30 epochs, batches of 128, best validation epoch). Not part of CI.
#   [EPOCHS=30] [METHODS="rigl set"] scripts/figures/rigl.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/rigl}
cargo build --release --bin aer
AER=target/release/aer
RECIPE=(--model mlp --optimizer adam --lr 1e-3 --epochs "${EPOCHS:-30}" --seed 0)
$AER train "${RECIPE[@]}" --out "$OUT/dense" --resume
for m in ${METHODS:-rigl set}; do
    $AER train "${RECIPE[@]}" --dynamic-sparsity 0.9 --dynamic "$m" --dynamic-update-every 50 --out "$OUT/$m" --resume
done
for r in dense ${METHODS:-rigl set}; do
    python3 -c "import json,sys; m=json.load(open('$OUT/$r/metrics.json')); print(f\"$r: test {100*m['test_accuracy']:.2f}% (best epoch {m['best_epoch']}, val {100*m['best_val_accuracy']:.2f}%)\")"
done
