#!/usr/bin/env bash
# Figures of the foundation issue: mlp and cnn test accuracy on the bundled MNIST subset over
# three seeds, and the first benchmark. Not part of CI (minutes on a GPU, longer on lavapipe).
#   scripts/figures/foundation.sh [OUT_DIR]      (AER=path/to/aer AER_BENCH=path/to/aer-bench)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/figures}
AER=${AER:-target/release/aer}
AER_BENCH=${AER_BENCH:-target/release/aer-bench}
mkdir -p "$OUT"
[[ -x "$AER" ]] || cargo build --release
"$AER" adapters > "$OUT/adapters.txt"
for seed in 0 1 2; do
    "$AER" train --model mlp --optimizer sgd --lr 0.05 --momentum 0.9 --epochs 30 --seed "$seed" --out "$OUT/mlp-sgd-s$seed"
    "$AER" train --model mlp --optimizer adam --lr 1e-3 --epochs 30 --seed "$seed" --out "$OUT/mlp-adam-s$seed"
    "$AER" train --model cnn --optimizer adam --lr 1e-3 --epochs 15 --seed "$seed" --out "$OUT/cnn-adam-s$seed"
done
"$AER_BENCH" --out "$OUT/bench.json"
# One line per run: name, best epoch, validation and test accuracy, seconds per epoch.
for m in "$OUT"/*/metrics.json; do
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1].split("/")[-2], d["best_epoch"], "val %.2f%%" % (100*d["best_val_accuracy"]), "test %.2f%%" % (100*d["test_accuracy"]), "%.2f s/epoch" % d["seconds_per_epoch"], d["adapter"])' "$m"
done | tee "$OUT/summary.txt"
