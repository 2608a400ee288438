#!/usr/bin/env bash
# Lottery tickets on mlp (LeNet-300-100) over three seeds: global magnitude pruning of 20% of
# the remaining weights per round, rewinding to the initial weights, Adam 1.2e-3 as in Frankle
# & Carbin (2019), early stopping on the validation split. Not part of CI.
#   scripts/figures/lottery.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/lottery}
cargo build --release --bin aer
# A seed whose lottery.json exists is not rerun (assets/figures/lottery-mlp/ holds recorded
# seeds: copy s<seed>.json to $OUT/s<seed>/lottery.json to reuse one).
for seed in 0 1 2; do
    [[ -f "$OUT/s$seed/lottery.json" ]] && continue
    target/release/aer prune --model mlp --optimizer adam --lr 1.2e-3 --schedule constant --epochs 12 \
        --rounds 15 --rate 0.2 --scope global --rewind-epoch 0 --seed "$seed" --out "$OUT/s$seed"
done
# Mean and spread of test accuracy per remaining fraction.
python3 - "$OUT" <<'PY'
import json, sys, statistics as st
runs = [json.load(open(f"{sys.argv[1]}/s{s}/lottery.json"))["rounds"] for s in range(3)]
for i, r in enumerate(runs[0]):
    acc = [100 * run[i]["test_accuracy"] for run in runs]
    print(f"{100 * r['remaining']:6.2f}% of weights: test {st.mean(acc):.2f}% (min {min(acc):.2f}, max {max(acc):.2f})")
PY
