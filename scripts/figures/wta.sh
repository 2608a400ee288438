#!/usr/bin/env bash
# Winners-take-all activation sparsity (DASNet) on cnn: the cnn-wta50 and cnn-wta75 configs
# (WTA after each ReLU) fine-tuned from the dense assets/models/cnn-adam-s0.safetensors (Adam
# 3e-4, 3 epochs, cosine, best validation epoch), then evaluated on the test split beside the
# dense model, skipping the dropped channels and with all channels, in batches of 128 and of
# 1; `aer eval` prints the multiply-adds per example dense, after weight sparsity, after
# activation sparsity and as executed, and the measured time per example. Not part of CI.
#   scripts/figures/wta.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/wta}
cargo build --release --bin aer
AER=target/release/aer
for s in 50 75; do
    [[ -f "$OUT/wta$s/metrics.json" ]] || $AER train --model "assets/configs/cnn-wta$s.toml" --init assets/models/cnn-adam-s0.safetensors \
        --optimizer adam --lr 3e-4 --epochs 3 --seed 0 --out "$OUT/wta$s"
done
for batch in 128 1; do
    for ck in assets/models/cnn-adam-s0.safetensors "$OUT/wta50/best.safetensors" "$OUT/wta75/best.safetensors"; do
        for mode in "" --all-channels; do
            [[ -n "$mode" && "$ck" == assets/* ]] && continue
            echo "== $ck batch $batch $mode"
            $AER eval --checkpoint "$ck" --batch-size "$batch" $mode
        done
    done
done
