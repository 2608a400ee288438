#!/usr/bin/env bash
# Madry et al.'s robust MNIST model on the full MNIST (not run in CI): the `madry` preset
# (3.3 M parameters) trained with PGD (eps 0.3, 10 steps of 0.075 from a random start; Adam
# 1e-3, cosine; eps ramped over the first 2 epochs), the epoch kept by PGD-40 accuracy on 500
# validation images; then the whole test split under PGD-40 and APGD-CE, and AutoAttack's
# standard evaluation (APGD-CE, APGD-T, FAB-T, Square-5000) on 1,000 test images spread over
# the classes. Published: about 89% (PGD) and 88% (AutoAttack). Hours an epoch on a CPU
# adapter: resumable, rerun to continue.
#   DATA=dir-or-name (default ../shared/data/mnist), AER=a built aer, EPOCHS (default 20)
source "$(dirname "$0")/common.sh" runs/full-mnist
OUT=$OUT/madry-pgd-at
$AER train --model madry --data "$DATA" --val-size 5000 --epochs "${EPOCHS:-20}" --optimizer adam --lr 1e-3 \
  --seed 0 --adv pgd --adv-eps 0.3 --adv-steps 10 --adv-step 0.075 --adv-ramp-epochs 2 \
  --adv-val-examples 500 --out "$OUT" --resume
evaluate_robust "$OUT" 0.3
