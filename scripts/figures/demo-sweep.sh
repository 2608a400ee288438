#!/usr/bin/env bash
# Choose the demo's recipe on the validation split (the "best epoch ... val" figure; the test
# accuracy printed beside it is not used for the choice): mlp, 12 epochs, a few optimizers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-runs/demo-sweep}
AER=${AER:-target/release/aer}
run() { name=$1; shift; "$AER" train --model mlp --out "$OUT/$name" "$@" 2>&1 | tail -1 | sed "s/^/$name: /"; }
run adam1e-3 --optimizer adam --lr 1e-3 --epochs 12
run adam2e-3 --optimizer adam --lr 2e-3 --epochs 12
run adamw1e-3-wd1e-2 --optimizer adam --lr 1e-3 --weight-decay 0.01 --decoupled --epochs 12
run adamw2e-3-wd5e-2 --optimizer adam --lr 2e-3 --weight-decay 0.05 --decoupled --epochs 12
run sgd0.05 --optimizer sgd --lr 0.05 --momentum 0.9 --epochs 12
run sgd0.1 --optimizer sgd --lr 0.1 --momentum 0.9 --epochs 12
run sgd0.1-wd5e-4 --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --epochs 12
run sgd0.1-wd5e-4-e15 --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --epochs 15
run sgd0.05-b64 --optimizer sgd --lr 0.05 --momentum 0.9 --batch-size 64 --epochs 12
