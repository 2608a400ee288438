#!/usr/bin/env bash
# The "Peers" table of BENCHMARKS.md: aer-bench against burn 0.22 on wgpu (and JAX on the CPU
# where installed) on the same adapter, in interleaved rounds, by ../shared/peers/aer_vs_burn.sh
# (its README builds the peers). Prints the Markdown to paste: date, adapter, command, table.
#   scripts/figures/peers.sh                 (ROUNDS=3; PEERS=path/to/peers; PY=python3 without JAX)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PEERS=${PEERS:-../shared/peers}
export ROUNDS=${ROUNDS:-3}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
[ -f "$PEERS/aer_vs_burn.sh" ] || { echo "peers.sh: no $PEERS/aer_vs_burn.sh; set PEERS to the peers directory" >&2; exit 1; }
cargo build --release --bin aer --bin aer-bench >&2
export AER_BENCH=${AER_BENCH:-$PWD/target/release/aer-bench}
export AER_REPO=$PWD
# Without the peers' JAX environment the table's JAX column stays empty ("-").
VENV_PY=$HOME/.cache/aer-peers/venv/bin/python
export PY=${PY:-$([ -x "$VENV_PY" ] && echo "$VENV_PY" || echo python3)}
export OUT=${OUT:-$(mktemp -d)}
TABLE=$(nice bash "$PEERS/aer_vs_burn.sh")
# The adapter aer-bench ran on, as its result file records it.
ADAPTER=$(python3 -c 'import json, sys; a = json.load(open(sys.argv[1]))["adapter"]; print("%s (%s, %s %s)" % (a["name"], a["backend"], a["driver"], a["driver_info"]))' "$OUT/aer-w1-1.json")
echo "Measured $(date -u +%Y-%m-%d) at $(git rev-parse --short HEAD) on $ADAPTER, $(nproc) CPU cores, $ROUNDS interleaved rounds:"
echo
echo '```sh'
echo "AER_BENCH=$AER_BENCH AER_REPO=$AER_REPO ROUNDS=$ROUNDS PY=$PY nice bash $PEERS/aer_vs_burn.sh"
echo '```'
echo
echo "$TABLE"
echo
echo "Raw samples: $OUT"
