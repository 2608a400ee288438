#!/usr/bin/env bash
# Adversarially trained cnn (assets/models/cnn-madry-e13.safetensors, PGD-AT at eps 0.3)
# pruned to 90% and 99% sparsity by global magnitude and by HYDRA (per-layer learned scores,
# the adversarial loss throughout), each then fine-tuned with PGD adversarial training.
# Both get the same budget of adversarial epochs: magnitude fine-tunes for 2, HYDRA trains
# its scores for 1 and fine-tunes for 1. Each model is attacked with PGD-40 (eps 0.3, step
# 0.01) on the whole test split (it is ordered by class, so no prefix of it will do), beside
# the dense model. Not part of CI.
#   scripts/figures/robust-pruning.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/robust-pruning}
DENSE=assets/models/cnn-madry-e13.safetensors
cargo build --release --bin aer
AER=target/release/aer
ADV=(--adv pgd --adv-eps 0.3 --adv-steps 10 --adv-step 0.075 --adv-val-examples 256)
TUNE=(--model cnn --init "$DENSE" --optimizer adam --lr 3e-4 --seed 0 "${ADV[@]}")
# Runs and attacks already finished (their result files exist) are skipped on a rerun.
# attack CHECKPOINT DIR: into DIR/<checkpoint name>-attack/.
attack() { [[ -f "$2/$(basename "$1" .safetensors)-attack/robustness.json" ]] || $AER attack --checkpoint "$1" --out "$2" --attacks pgd --curve --distance-n 0; }
prune() { [[ -f "$OUT/$1/metrics.json" ]] || $AER train "${TUNE[@]}" "${@:2}" --out "$OUT/$1"; attack "$OUT/$1/best.safetensors" "$OUT/$1"; }
for s in ${SPARSITIES:-0.9 0.99}; do
    prune "magnitude-$s" --prune-sparsity "$s" --epochs 2
    prune "hydra-$s" --hydra "$s" --mask-epochs 1 --epochs 1
done
# At 99%, fine-tuning at the full eps from the first step leaves both models at chance
# (measured: clean 18.4% by magnitude, 11.3% by HYDRA per layer), so these two ramp eps up over
# the first adversarial epoch, and HYDRA ranks its scores across layers (per layer, conv1
# would keep 4 of its 400 weights).
if [[ " ${SPARSITIES:-0.9 0.99} " == *" 0.99 "* ]]; then
    prune magnitude-0.99-ramp --prune-sparsity 0.99 --epochs 2 --adv-ramp-epochs 1
    prune hydra-global-0.99-ramp --hydra 0.99 --mask-global --mask-epochs 1 --epochs 1 --adv-ramp-epochs 1
fi
attack "$DENSE" "$OUT/dense"
python3 - "$OUT" <<'PY'
import glob, json, sys
out = sys.argv[1]
for run in ["dense"] + [f"{m}-{s}" for s in ("0.9", "0.99") for m in ("magnitude", "hydra")] + ["magnitude-0.99-ramp", "hydra-global-0.99-ramp"]:
    paths = glob.glob(f"{out}/{run}/*-attack/robustness.json")
    if not paths:
        continue
    r = json.load(open(paths[0]))
    print(f"{run:16s} clean {100 * r['clean_accuracy']:.2f}%  PGD-40 {100 * r['worst_case_robust_accuracy']:.2f}%")
PY
