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
