#!/usr/bin/env bash
# First-run time of `aer demo`: each trial runs the demo twice with a fresh, empty aer cache
# directory (AER_CACHE_DIR) and Mesa shader cache (MESA_SHADER_CACHE_DIR), first cold (both
# caches empty), then warm (both as the first run left them); with MESA=off Mesa's own cache
# is disabled (MESA_SHADER_CACHE_DISABLE=true), so that only aer's pipeline cache carries over.
# Binaries are interleaved trial by trial (the CPU is shared). Prints one line per run.
#   scripts/figures/first-run.sh [TRIALS] [EPOCHS] AER_BINARY...   (MESA=off|on, default on)
set -euo pipefail
TRIALS=${1:-3}; EPOCHS=${2:-3}; shift 2
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
echo "binary mesa_cache trial run first_epoch_s later_epoch_s total_s pipelines build_s"
for t in $(seq 1 "$TRIALS"); do
  for bin in "$@"; do
    cache=$(mktemp -d); mesa=$(mktemp -d)
    for run in cold warm; do
      if [ "${MESA:-on}" = off ]; then mesa_env=(MESA_SHADER_CACHE_DISABLE=true); else mesa_env=(MESA_SHADER_CACHE_DIR="$mesa"); fi
      out=$(env "${mesa_env[@]}" AER_CACHE_DIR="$cache" "$bin" demo --epochs "$EPOCHS" --out "$cache/run-$run" 2>/dev/null)
      total=$(sed -n 's/.*(total \([0-9.]*\) s).*/\1/p' <<< "$out")
      pipes=$(sed -n 's/^pipelines: \([0-9]*\) built in \([0-9.]*\) s/\1 \2/p' <<< "$out")
      epochs=$(python3 -c 'import json, sys, statistics as st; s = [e["seconds"] for e in json.load(open(sys.argv[1]))["history"]]; print(f"{s[0]:.2f} {st.median(s[1:]):.2f}")' "$cache/run-$run/metrics.json")
      echo "$bin ${MESA:-on} $t $run $epochs $total ${pipes:-- -}"
    done
    rm -rf "$cache" "$mesa"
  done
done
