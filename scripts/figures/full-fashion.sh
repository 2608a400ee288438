#!/usr/bin/env bash
# Figures on the full Fashion-MNIST (60,000 + 10,000; not run in CI):
# 1. the cnn adversarially trained with PGD at eps 0.1 (10 steps of 0.025 from a random start;
#    Adam 1e-3, cosine; eps ramped over the first 2 epochs), each epoch's PGD-40 accuracy on 500
#    validation images choosing the kept one; then the whole test split under PGD-40 and
#    APGD-CE (per-example worst case), and AutoAttack's standard evaluation (APGD-CE, APGD-T,
#    FAB-T, Square-5000) on 1,000 test images spread over the classes;
# 2. resnet20 clean (published ResNets: 93-95%): SGD with Nesterov momentum 0.9, weight decay
#    5e-4, from lr 0.1 cosine, random crops of 2 pixels and horizontal flips.
# 5,000 training images are held out for validation and choose the epoch; the test split is
# used only for the final numbers. Hours an epoch on a CPU adapter: resumable, rerun to continue.
#   DATA=dir-or-name (default ../shared/data/fashion-mnist), AER=a built aer
#   STEPS (default "pgd resnet20"), PGD_EPOCHS (default 10), RESNET_EPOCHS (default 30)
DATA=${DATA:-../shared/data/fashion-mnist}
source "$(dirname "$0")/common.sh" runs/full-fashion
STEPS=${STEPS:-pgd resnet20}
common=(--data "$DATA" --val-size 5000 --seed 0 --resume)

if [[ " $STEPS " == *" pgd "* ]]; then
  at=$OUT/cnn-pgd-at
  $AER train --model cnn --epochs "${PGD_EPOCHS:-10}" "${common[@]}" --optimizer adam --lr 1e-3 \
    --adv pgd --adv-eps 0.1 --adv-steps 10 --adv-step 0.025 --adv-ramp-epochs 2 --adv-val-examples 500 --out "$at"
  evaluate_robust "$at" 0.1
fi
[[ " $STEPS " != *" resnet20 "* ]] || $AER train --model resnet20 --epochs "${RESNET_EPOCHS:-30}" "${common[@]}" \
  --optimizer sgd --lr 0.1 --nesterov --weight-decay 5e-4 --augment-crop 2 --augment-flip --out "$OUT/resnet20-clean"
