#!/usr/bin/env bash
# CARD-Deck on the full MNIST, or with DATA=../shared/data/fashion-mnist the full Fashion-MNIST
# (not run in CI; docs/deck.md). Three CARDs of the mlp preset,
# each a 90%-sparse lottery ticket with rewinding (assets/pipelines/card.toml) trained with
# its own augmentation: AugMix, Gaussian noise (sigma 0.3) and random crops (2 pixels); the
# dense model (10 epochs) as the reference. Then `aer deck build` takes the gate's spectra
# from the 5,000 validation images and `aer deck eval` measures the deck (top1 and soft
# gates), each member and the dense model on the clean test split and on MNIST-C at
# severities 1-5, with their stored bytes. For the CARD comparison, two other compressions of
# the same sparsity trained with AugMix from the dense model: gradual magnitude pruning
# (cubic ramp over 5 of 10 epochs) and one-shot pruning then fine-tuning (10 epochs); `aer
# shift` measures every model against the dense one. Resumable: rerun to continue.
#   AER, DATA (default ../shared/data/mnist), OUT (default runs/deck): scripts/figures/common.sh
#   N=test images per corruption and severity (default 2000, spread over the classes, as shift.sh)
source "$(dirname "$0")/common.sh" runs/deck
N=${N:-2000}
mkdir -p "$OUT"

# 1. The dense reference and the three CARDs.
$AER train --model mlp --data "$DATA" --val-size 5000 --epochs 10 --seed 0 --resume --out "$OUT/dense"
declare -A tables=(
  [augmix]='[stages.train.augmix]'
  [noise]='[stages.train.gaussian_noise]\nsigma = 0.3'
  [crop]='[stages.train.augment]\ncrop = 2'
)
members=()
for m in augmix noise crop; do
  file=$OUT/card-$m.toml
  sed "s/^name = \"card\"/name = \"card-$m\"/; s/^\[stages\.train\.augmix\]$/${tables[$m]}/" assets/pipelines/card.toml > "$file"
  $AER run "$file" --set "data=$DATA" --set val_size=5000 --out "$OUT/$m"
  members+=(--member "$OUT/$m/run/02-lottery/round-05/best.safetensors")
done

# 2. The deck: spectra from validation images, then the test split clean and corrupted.
[[ -f $OUT/deck/deck.toml ]] || $AER deck build "${members[@]}" --data "$DATA" --val-size 5000 --out "$OUT/deck"
[[ -f $OUT/top1/deck.json ]] || $AER deck eval --deck "$OUT/deck/deck.toml" --data "$DATA" --n "$N" --reference "$OUT/dense/best.safetensors" --out "$OUT/top1"
[[ -f $OUT/soft/deck.json ]] || $AER deck eval --deck "$OUT/deck/deck.toml" --data "$DATA" --n "$N" --gate soft 0.05 --reference "$OUT/dense/best.safetensors" --out "$OUT/soft"

# 3. CARDs against other compressions of the same sparsity, each on MNIST-C against dense.
pruned=(--model mlp --data "$DATA" --val-size 5000 --epochs 10 --seed 0 --resume --augmix --init "$OUT/dense/best.safetensors")
$AER train "${pruned[@]}" --prune-sparsity 0.9 --prune-ramp-epochs 5 --out "$OUT/gradual"
$AER train "${pruned[@]}" --prune-sparsity 0.9 --out "$OUT/finetune"
for m in augmix noise crop; do
  [[ -f $OUT/shift/$m/best-shift.json ]] || $AER shift --checkpoint "$OUT/$m/run/02-lottery/round-05/best.safetensors" --data "$DATA" --n "$N" --reference "$OUT/dense/best.safetensors" --out "$OUT/shift/$m"
done
for m in dense gradual finetune; do
  [[ -f $OUT/shift/$m/best-shift.json ]] || $AER shift --checkpoint "$OUT/$m/best.safetensors" --data "$DATA" --n "$N" --reference "$OUT/dense/best.safetensors" --out "$OUT/shift/$m"
done

# 4. The runs side by side.
$AER report "$OUT" --out "$OUT/report"
echo "results: $OUT/top1/deck.json, $OUT/soft/deck.json, $OUT/shift/*/best-shift.json, $OUT/report/report.md"
