#!/usr/bin/env bash
# Robustness beyond adversarial examples on the full MNIST and Fashion-MNIST (not run in CI;
# docs/shift.md, docs/uncertainty.md). Per data set, the mlp preset (LeNet-300-100):
#   dense      10 epochs, seeds 0, 1 and 2 (the other two make a deep ensemble of three);
#   twn        TWN ternary fine-tuning of dense seed 0 for 3 epochs;
#   lth        a 90%-sparse lottery ticket with rewinding to epoch 1
#              (assets/pipelines/lottery-rewind.toml: 5 rounds of 36.9%, 5 epochs each).
# 5,000 training images are held out for validation: they choose each run's kept epoch and fit
# the temperatures; the test split is only evaluated. Then for every model:
#   aer shift      accuracy on the data set's corruptions (MNIST-C for both: they are grey)
#                  at severities 1-5 on N test images, CE/mCE against dense seed 0;
#   aer calibrate  ECE, NLL and Brier before and after temperature scaling;
#   aer ood        MSP, energy and entropy AUROC against the other data set's test images,
#                  and against the data set's own test images under every corruption at
#                  severity 5 (--corrupted all);
# and the three dense seeds as an ensemble (eval and ood). Resumable: rerun to continue.
#   ROOT=directory holding mnist/ and fashion-mnist/ (default ../shared/data)
#   AER=path of a built aer (default: build target/release/aer)
#   OUT=results (default runs/shift), FIG=the committed figures (default assets/figures/shift)
#   N=test images per corruption and severity (default 2000, spread over the classes)
#   SETS="mnist fashion-mnist" (the data sets to run, in order)
source "$(dirname "$0")/common.sh" runs/shift
ROOT=${ROOT:-../shared/data}
FIG=${FIG:-assets/figures/shift}
N=${N:-2000}
SETS=${SETS:-mnist fashion-mnist}
mkdir -p "$FIG"

other() { if [[ $1 == mnist ]]; then echo fashion-mnist; else echo mnist; fi; }

for d in $SETS; do
  DATA=$ROOT/$d
  O=$OUT/$d
  common=(--model mlp --data "$DATA" --val-size 5000 --optimizer adam --lr 1e-3 --resume)

  # 1. The models.
  $AER train --epochs 10 --seed 0 "${common[@]}" --out "$O/dense"
  for s in 1 2; do
    $AER train --epochs 10 --seed "$s" "${common[@]}" --out "$O/dense-s$s"
  done
  $AER train --epochs 3 --seed 0 "${common[@]}" --init "$O/dense/best.safetensors" --quant twn --out "$O/twn"
  $AER run assets/pipelines/lottery-rewind.toml --set "data=$DATA" --out "$O/lth"
  declare -A models=(
    [dense]=$O/dense/best.safetensors
    [twn]=$O/twn/best.safetensors
    [lth]=$O/lth/run/02-lottery/round-05/best.safetensors
  )

  # 2. Corruptions, calibration and out-of-distribution detection of each model.
  for m in dense twn lth; do
    ck=${models[$m]}
    [[ -f $O/eval/$m/best-shift.json ]] || $AER shift --checkpoint "$ck" --data "$DATA" --n "$N" --reference "${models[dense]}" --grid --out "$O/eval/$m"
    [[ -f $O/eval/$m/best-calibrate.json ]] || $AER calibrate --checkpoint "$ck" --data "$DATA" --val-size 5000 --out "$O/eval/$m"
    [[ -f $O/eval/$m/best-eval.json ]] || $AER eval --checkpoint "$ck" --data "$DATA" --val-size 5000 --reliability --out "$O/eval/$m"
    [[ -f $O/eval/$m/best-ood.json ]] || $AER ood --checkpoint "$ck" --in-data "$DATA" --out-data "$ROOT/$(other "$d")" --out "$O/eval/$m"
    [[ -f $O/eval/$m/best-ood-corrupted.json ]] || $AER ood --checkpoint "$ck" --in-data "$DATA" --corrupted all --n "$N" --out "$O/eval/$m"
  done
  ens=$O/dense/best.safetensors,$O/dense-s1/best.safetensors,$O/dense-s2/best.safetensors
  [[ -f $O/eval/ensemble/best-eval.json ]] || $AER eval --checkpoint "$O/dense/best.safetensors" --ensemble "$O/dense-s1/best.safetensors,$O/dense-s2/best.safetensors" --data "$DATA" --val-size 5000 --out "$O/eval/ensemble"
  [[ -f $O/eval/ensemble/best-ood.json ]] || $AER ood --checkpoint "$ens" --in-data "$DATA" --out-data "$ROOT/$(other "$d")" --out "$O/eval/ensemble"
  [[ -f $O/eval/ensemble/best-ood-corrupted.json ]] || $AER ood --checkpoint "$ens" --in-data "$DATA" --corrupted all --n "$N" --out "$O/eval/ensemble"

  # 3. The figures: every result file, and the report's tables.
  for m in dense twn lth ensemble; do
    mkdir -p "$FIG/$d/$m"
    cp "$O/eval/$m"/*.json "$O/eval/$m"/*.svg "$FIG/$d/$m/" 2>/dev/null || true
  done
  cp "$O/eval/dense/best-shift-grid.png" "$FIG/$d/corruptions.png"
  $AER report "$O/eval" --out "$FIG/$d/report"
done
