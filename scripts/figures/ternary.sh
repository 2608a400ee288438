#!/usr/bin/env bash
# Ternary against f32 on the bundled MNIST: the same model, settings and seed trained in f32,
# with TWN, with TTQ and with BinaryRelax over TWN's projection (all weight layers ternary,
# one scale per layer), then packed; the
# packed file's size and test accuracy are printed by `aer quantize`. Not part of CI.
#   scripts/figures/ternary.sh [OUT_DIR] [MODELS]      e.g. scripts/figures/ternary.sh runs/ternary "mlp cnn"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/ternary}
MODELS=${2:-mlp cnn}
cargo build --release --bin aer
for model in $MODELS; do
    if [ "$model" = mlp ]; then
        # The demo's settings (chosen on the validation split for f32).
        settings=(--optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --epochs 12)
    else
        settings=(--optimizer adam --lr 1e-3 --epochs 15)
    fi
    for q in ${QUANTS:-f32 twn ttq relax}; do
        quant=()
        [ "$q" != f32 ] && quant=(--quant "$q")
        [ "$q" = relax ] && quant=(--quant twn --binary-relax)
        target/release/aer train --model "$model" "${settings[@]}" "${quant[@]}" --seed 0 --out "$OUT/$model-$q" 2>&1 | tail -1
        if [ "$q" != f32 ]; then
            target/release/aer quantize --checkpoint "$OUT/$model-$q/best.safetensors" --out "$OUT/$model-$q/packed.safetensors"
        fi
    done
done
