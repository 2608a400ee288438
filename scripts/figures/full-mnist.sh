#!/usr/bin/env bash
# Figures on the full MNIST (60,000 + 10,000; not run in CI): clean cnn and smallcnn test
# accuracy, and cnn adversarially trained at eps 0.3 with fast FGSM (random start, step
# 1.25 eps; Wong et al. 2020), with N-FGSM (de Jorge et al. 2022) and with PGD-7, each tested with
# PGD-40 and APGD-CE on the whole test split and AutoAttack's standard evaluation on 1,000.
# 5,000 training images are held out for validation and choose the epoch; the test split is
# used only for the final numbers. STEPS chooses the parts (default "cnn fgsm nfgsm pgd smallcnn").
# Resumable: rerun to continue where it stopped.
#   DATA=dir-or-name (default ../shared/data/mnist, or `aer data get mnist` and DATA=mnist)
#   AER=path of a built aer (default: build target/release/aer)
source "$(dirname "$0")/common.sh" runs/full-mnist
common=(--data "$DATA" --val-size 5000 --optimizer adam --lr 1e-3 --seed 0 --resume)

# 1. Clean training (cosine from 1e-3, batches of 128). STEPS="fgsm smallcnn" skips the cnn.
STEPS=${STEPS:-cnn fgsm nfgsm pgd smallcnn}
[[ " $STEPS " != *" cnn "* ]] || $AER train --model cnn --epochs 10 "${common[@]}" --out "$OUT/cnn-clean"
# 2. Fast adversarial training at eps 0.3, ramped over the first 3 epochs; each epoch's
#    PGD-40 accuracy on 500 validation images chooses the kept epoch (and would show
#    catastrophic overfitting, a collapse of that accuracy).
[[ " $STEPS " != *" fgsm "* ]] || $AER train --model cnn --epochs 15 "${common[@]}" --adv fgsm --adv-eps 0.3 --adv-ramp-epochs 3 \
  --adv-val-examples 500 --out "$OUT/cnn-fgsm-at"
# 2b. N-FGSM (noise 2 eps, step eps, no projection; de Jorge et al. 2022), the same cost per
#     epoch, which the FGSM run above overfits catastrophically without (its PGD-40 accuracy
#     falls while its FGSM training accuracy rises).
[[ " $STEPS " != *" nfgsm "* ]] || $AER train --model cnn --epochs 15 "${common[@]}" --adv nfgsm --adv-eps 0.3 --adv-ramp-epochs 3 \
  --adv-val-examples 500 --out "$OUT/cnn-nfgsm-at"
# 2c. PGD adversarial training (Madry et al. 2018) with 7 steps of 0.1 from a random start,
#     eps ramped over 2 epochs: 4 times the single-step methods' cost per epoch.
[[ " $STEPS " != *" pgd "* ]] || $AER train --model cnn --epochs "${PGD_EPOCHS:-10}" "${common[@]}" --adv pgd --adv-eps 0.3 --adv-steps 7 \
  --adv-step 0.1 --adv-ramp-epochs 2 --adv-val-examples 500 --out "$OUT/cnn-pgd-at"
[[ " $STEPS " != *" smallcnn "* ]] || $AER train --model smallcnn --epochs 10 "${common[@]}" --out "$OUT/smallcnn-clean"

# (Each run's metrics.json ends with the kept epoch's test accuracy.) Each robust model on all
# 10,000 test images: PGD-40 and APGD-CE, per-example worst case; then AutoAttack's standard
# evaluation (APGD-CE, APGD-T, FAB-T, Square-5000, in AutoAttack's cascade) on 1,000 test
# images spread over the classes (the whole split would take days on a CPU adapter). Each
# evaluation keeps its finished batches and resumes from them when the script is rerun.
for run in fgsm nfgsm pgd; do
  [[ " $STEPS " == *" $run "* ]] || continue
  evaluate_robust "$OUT/cnn-$run-at" 0.3
done
