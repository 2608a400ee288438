#!/usr/bin/env bash
# Issue figures for adversarial robustness on the bundled MNIST (not run in CI):
# cnn trained with PGD adversarial training (eps 0.3, PGD-10 step 0.075, random start, eps
# ramped over the first 3 epochs), then evaluated with FGSM, PGD-40, APGD-CE, APGD-DLR, the
# worst case, a robustness curve and minimal distances; and the clean-trained cnn under PGD-40.
# Resumable: rerun to continue an interrupted training run.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --bin aer
AER=target/release/aer
EPOCHS=${EPOCHS:-15}
OUT=runs/cnn-madry
$AER train --model cnn --epochs "$EPOCHS" --optimizer adam --lr 1e-3 --seed 0 \
  --adv pgd --adv-eps 0.3 --adv-steps 10 --adv-step 0.075 --adv-ramp-epochs 3 \
  --adv-val-examples 256 --out "$OUT" --resume
# Robust accuracy was still rising when the cosine schedule ended: 20 more epochs from the
# best checkpoint at eps 0.3 throughout (a fresh cosine schedule from 5e-4), selected again on
# the validation split's PGD-40 accuracy.
CONT=runs/madry-cont
$AER train --model cnn --init "$OUT/best.safetensors" --epochs 20 --optimizer adam --lr 5e-4 --seed 1 \
  --adv pgd --adv-eps 0.3 --adv-steps 10 --adv-step 0.075 \
  --adv-val-examples 256 --out "$CONT" --resume
OUT=$CONT
# Full test split; the curve and the minimal distances on 500 examples spread over it.
$AER attack --checkpoint "$OUT/best.safetensors" \
  --attacks fgsm,pgd,apgd-ce,apgd-dlr --curve-n 500 --distance-n 500
$AER attack --checkpoint assets/models/cnn-adam-s0.safetensors \
  --attacks fgsm,pgd --curve-n 500 --distance-n 500
# Attack throughput (PGD-10 on a batch of 128).
cargo build --release --bin aer-bench
target/release/aer-bench --filter pgd10 --out runs/pgd-throughput.json
