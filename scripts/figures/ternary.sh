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
            target/release/aer quantize --checkpoint "$OUT/$model-$q/best.safetensors"
        fi
    done
done
# Adversarially (mlp): f32 PGD-AT at eps 0.3 (PGD-10, step 0.075, eps ramped over 3 epochs),
# then TWN fine-tuned from it with PGD-AT for 3 epochs and packed; PGD-40 (step 0.01) on the
# whole test split against both. Set ADV=0 to skip.
if [ "${ADV:-1}" = 1 ]; then
    adv=(--adv pgd --adv-eps 0.3 --adv-steps 10 --adv-step 0.075 --adv-val-examples 256 --seed 0)
    target/release/aer train --model mlp --optimizer adam --lr 1e-3 --epochs 10 --adv-ramp-epochs 3 "${adv[@]}" --out "$OUT/mlp-adv-f32" 2>&1 | tail -1
    target/release/aer train --model mlp --optimizer adam --lr 3e-4 --epochs 3 --quant twn --init "$OUT/mlp-adv-f32/best.safetensors" "${adv[@]}" --out "$OUT/mlp-adv-twn" 2>&1 | tail -1
    target/release/aer quantize --checkpoint "$OUT/mlp-adv-twn/best.safetensors"
    for ck in "$OUT/mlp-adv-f32/best.safetensors" "$OUT/mlp-adv-twn/best-packed.safetensors"; do
        target/release/aer attack --checkpoint "$ck" --attacks pgd --distance-n 0
    done
fi
