#!/usr/bin/env bash
# Issue figures for verified robustness and parameter robustness (bundled MNIST, test split):
# certified cnn at eps 0.1 (dense, and sparse from scratch at 90% and 99%), PGD-40 and IBP
# verification, the per-layer vulnerability tables, and fault injection.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release
aer=target/release/aer
out=${OUT:-runs/verified}
mkdir -p "$out"
# Learning rate chosen on verified validation accuracy between 1e-3 and 3e-3.
$aer train --model cnn --epochs 20 --certify 0.1 --lr "${LR:-1e-3}" --out "$out/dense"
for s in 0.9 0.99; do
  $aer train --model cnn --epochs 20 --certify 0.1 --lr "${LR:-1e-3}" --dynamic-sparsity $s --dynamic-update-every 50 --out "$out/s$s"
done
for run in dense s0.9 s0.99; do
  $aer verify --checkpoint "$out/$run/best.safetensors" --eps 0.1 --pgd-steps 40 --out "$out/$run-verify.json"
done
for run in dense s0.9; do
  $aer corrupt --checkpoint "$out/$run/best.safetensors" --rho 0.01,0.05 --out "$out/$run-corrupt.json"
done
$aer faults --checkpoint "$out/dense/best.safetensors" --out "$out/dense-faults.json"
