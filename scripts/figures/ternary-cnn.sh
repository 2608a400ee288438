#!/usr/bin/env bash
# Ternary cnn against f32 on the bundled MNIST, and with adversarial training. Each ternary
# model is fine-tuned from the f32 checkpoint it is compared with (as the TWN and TTQ papers
# start from a trained network), all weight layers ternary, one scale per layer, then packed;
# `aer quantize` prints the packed file's size, its test accuracy (also with f16 activations
# where the adapter has shader-f16) and each layer's cosine distance to f32.
#   clean: from assets/models/cnn-adam-s0.safetensors (f32, 97.09%), Adam 3e-4, 4 epochs, cosine
#   adversarial: TWN from assets/models/cnn-madry-e13.safetensors (PGD-AT, PGD-40 50.80%),
#     PGD-AT at eps 0.3 (PGD-10, step 0.075) for 2 epochs, then PGD-40 (step 0.01) on the
#     whole test split against the packed model.
# Runs with a result file are skipped on a rerun. Not part of CI.
#   scripts/figures/ternary-cnn.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/ternary-cnn}
cargo build --release --bin aer
AER=target/release/aer
F16=()
# (No pipe into grep -q: under pipefail its early exit would fail the pipeline.)
ADAPTERS=$($AER adapters 2>/dev/null || true)
[[ "$ADAPTERS" == *"shader-f16: yes"* ]] && F16=(--f16-activations)
tune() {
    local name=$1; shift
    [[ -f "$OUT/$name/metrics.json" ]] || $AER train --model cnn --optimizer adam --lr 3e-4 --seed 0 "$@" --out "$OUT/$name"
    [[ -f "$OUT/$name/best-packed.safetensors" ]] || $AER quantize --checkpoint "$OUT/$name/best.safetensors" "${F16[@]}" | tee "$OUT/$name/quantize.txt"
}
for q in twn ttq hq relax; do
    quant=(--quant "$q")
    [ "$q" = hq ] && quant=(--quant twn --hq 0.5)
    [ "$q" = relax ] && quant=(--quant twn --binary-relax)
    tune "clean-$q" --init assets/models/cnn-adam-s0.safetensors --epochs 4 "${quant[@]}"
done
tune adv-twn --init assets/models/cnn-madry-e13.safetensors --epochs 2 --quant twn \
    --adv pgd --adv-eps 0.3 --adv-steps 10 --adv-step 0.075 --adv-val-examples 256
[[ -f "$OUT/adv-twn/best-packed-attack/robustness.json" ]] || $AER attack --checkpoint "$OUT/adv-twn/best-packed.safetensors" --attacks pgd --curve --distance-n 0
for q in twn ttq hq relax; do
    echo "clean-$q: $(grep -h 'test accuracy' "$OUT/clean-$q/quantize.txt" | tr '\n' ' ')"
done
echo "adv-twn: $(grep -h 'test accuracy' "$OUT/adv-twn/quantize.txt" | tr '\n' ' ')"
