# What the figure scripts share, sourced first by each (`source "$(dirname "$0")/common.sh"
# [DEFAULT_OUT]`): strict mode, the repository root as the working directory, and
#   AER=path of a built aer (default: build target/release/aer)
#   DATA=dir-or-name (default ../shared/data/mnist, or `aer data get mnist` and DATA=mnist)
#   OUT=the results directory (default DEFAULT_OUT, when given)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [[ -z "${AER:-}" ]]; then
  cargo build --release --bin aer
  AER=target/release/aer
fi
DATA=${DATA:-../shared/data/mnist}
if [[ -n "${1:-}" ]]; then
  OUT=${OUT:-$1}
fi

# A robust model's evaluation at radius EPS, from DIR/best.safetensors: PGD-40 and APGD-CE in a
# cascade on the whole test split, then AutoAttack's standard attacks (APGD-CE, APGD-T, FAB-T,
# Square-5000) on 1,000 test images spread over the classes; each is skipped once written and
# otherwise resumes from the batches it finished.   evaluate_robust DIR EPS
evaluate_robust() {
  local dir=$1 eps=$2
  [[ -f "$dir/attack/best-attack/robustness.json" ]] || $AER attack --data "$DATA" --val-size 5000 \
    --checkpoint "$dir/best.safetensors" --eps "$eps" --attacks pgd,apgd-ce --cascade --n 10000 \
    --curve --distance-n 0 --out "$dir/attack" --resume
  [[ -f "$dir/standard/best-attack/robustness.json" ]] || $AER attack --data "$DATA" --val-size 5000 \
    --checkpoint "$dir/best.safetensors" --eps "$eps" --attacks standard --n 1000 \
    --curve --distance-n 0 --out "$dir/standard" --resume
}
