#!/usr/bin/env bash
# Transfer attacks through on-device siblings, and similarity-unpairing, on the full MNIST
# (not run in CI). A full mlp (seed 0), an independently trained mlp of the same architecture
# (seed 1: the baseline prior), and the full model's compressed siblings, each fine-tuned from
# it: magnitude-pruned to 50% and 90%, block-sparse (75% of 16x16 blocks, all layers) and
# ternary (TWN). `aer siblings` then crafts PGD and APGD examples on each sibling (and on the
# baseline) and evaluates them on the full model, measures the similarities, and runs the
# Square attack on the full model with and without the sibling's prior. Finally each sibling
# is fine-tuned with similarity-unpairing and measured again. 5,000 training images are held
# out for validation and choose every run's kept epoch; the test split is only attacked.
# Resumable: rerun to continue where it stopped.
#   DATA=dir-or-name (default ../shared/data/mnist, or `aer data get mnist` and DATA=mnist)
#   AER=path of a built aer (default: build target/release/aer)
#   N=test images attacked (default 1000, spread over the classes)
source "$(dirname "$0")/common.sh" runs/siblings
N=${N:-1000}
common=(--data "$DATA" --val-size 5000 --optimizer adam --resume)

# 1. The full model and the baseline prior: same recipe, other seed.
$AER train --model mlp --epochs 8 --lr 1e-3 --seed 0 "${common[@]}" --out "$OUT/full"
$AER train --model mlp --epochs 8 --lr 1e-3 --seed 1 "${common[@]}" --out "$OUT/baseline"
FULL=$OUT/full/best.safetensors

# 2. The siblings, fine-tuned from the full model for 3 epochs at a lower rate.
tune=(--init "$FULL" --epochs 3 --lr 1e-4 --seed 0 "${common[@]}")
$AER train --model mlp "${tune[@]}" --prune-sparsity 0.5 --out "$OUT/pruned50"
$AER train --model mlp "${tune[@]}" --prune-sparsity 0.9 --out "$OUT/pruned90"
$AER train --model mlp "${tune[@]}" --block-sparsity 0.75 --block 16 --block-all-layers --out "$OUT/block75"
$AER train --model mlp --init "$FULL" --epochs 3 --lr 5e-4 --seed 0 "${common[@]}" --quant twn --out "$OUT/ternary"

# 3. Transfer and query attacks through each sibling, against the baseline prior, at eps 0.1
#    (at MNIST's usual 0.3 every prior's examples, the baseline's too, flip almost every
#    image of an undefended mlp, leaving nothing to compare).
attack=(--data "$DATA" --val-size 5000 --full "$FULL" --baseline "$OUT/baseline/best.safetensors" --n "$N" --eps 0.1 --queries 1000)
[[ -f "$OUT/report/before/best-siblings/siblings.json" ]] || $AER siblings "${attack[@]}" \
  --sibling "$OUT/pruned50/best.safetensors,$OUT/pruned90/best.safetensors,$OUT/block75/best.safetensors,$OUT/ternary/best.safetensors" \
  --out "$OUT/report/before"

# 4. Similarity-unpairing of the sibling closest to the full model (pruned50): one epoch of
#    fine-tuning with the squared input-gradient cosine to the full model at weight 1 (the
#    mask comes with --init; a ternary sibling would need its --quant twn again). One epoch
#    costs about five clean ones; on llvmpipe that is ~470 s for the mlp.
unpair=(--unpair-full "$FULL" --unpair-weight 1 --epochs 1 --lr 1e-4 --seed 0 "${common[@]}")
$AER train --model mlp --init "$OUT/pruned50/best.safetensors" "${unpair[@]}" --out "$OUT/pruned50-unpaired"
[[ -f "$OUT/report/after/best-siblings/siblings.json" ]] || $AER siblings "${attack[@]}" \
  --sibling "$OUT/pruned50-unpaired/best.safetensors" --out "$OUT/report/after"

# 5. The table: aer report finds every siblings.json under the directory.
$AER report "$OUT/report"
mkdir -p assets/figures/siblings
cp "$OUT/report/before/best-siblings/siblings.json" assets/figures/siblings/before.json
cp "$OUT/report/after/best-siblings/siblings.json" assets/figures/siblings/after.json
cp "$OUT/report/report/report.md" assets/figures/siblings/report.md
