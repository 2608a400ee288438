#!/usr/bin/env bash
# On a machine with a GPU: list the adapters, then on each adapter run the kernel tests and
# the benchmark suite, write one result file per adapter into benches/results/ and a
# comparison table and chart of them all. Logs of the tests go beside the results.
#   scripts/gpu-bench.sh [--quick] [--backend vulkan|gl|metal|dx12] [--out DIR] [--no-tests]
# --quick: the quick suite and only the matmul kernel tests, its files named *-quick.*: a few
# minutes on a CPU adapter, to check the script where there is no GPU.
# SwiftShader joins the adapters with VK_ADD_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
QUICK=""; SUFFIX=""; OUT=benches/results; TESTS=1; TEST_FILTER=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=--quick; SUFFIX=-quick; TEST_FILTER=(-- matmul) ;;
    --backend) export WGPU_BACKEND="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --no-tests) TESTS=0 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "gpu-bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo build --release --bin aer --bin aer-bench
AER=target/release/aer
BENCH=target/release/aer-bench
mkdir -p "$OUT"
$AER adapters | tee "$OUT/adapters$SUFFIX.txt"
# One line per adapter: its number in `aer adapters` (which WGPU_ADAPTER_NAME and --adapter
# accept) and a file name made of its name and backend.
ADAPTERS=$($AER adapters --json | python3 -c '
import json, re, sys
for i, a in enumerate(json.load(sys.stdin)):
    slug = re.sub(r"[^a-z0-9]+", "-", (a["name"] + " " + a["backend"]).lower()).strip("-")
    print(i, slug)')
[ -n "$ADAPTERS" ] || { echo "gpu-bench.sh: no adapter found (aer adapters lists none)" >&2; exit 1; }
FILES=(); FAILED=()
while read -r i slug; do
  echo "== adapter $i: $slug" >&2
  if [ "$TESTS" = 1 ]; then
    log="$OUT/$slug$SUFFIX-kernel-tests.log"
    if WGPU_ADAPTER_NAME=$i cargo test --release --test kernels "${TEST_FILTER[@]}" > "$log" 2>&1; then
      grep -E '^test result' "$log" >&2
    else
      echo "kernel tests FAILED on $slug: see $log" >&2; FAILED+=("$slug kernel tests")
    fi
  fi
  if "$BENCH" --adapter "$i" $QUICK --out "$OUT/$slug$SUFFIX.json"; then
    FILES+=("$OUT/$slug$SUFFIX.json")
  else
    echo "benchmark FAILED on $slug" >&2; FAILED+=("$slug benchmark")
    [ -f "$OUT/$slug$SUFFIX.json" ] && FILES+=("$OUT/$slug$SUFFIX.json")
  fi
done <<< "$ADAPTERS"
if [ ${#FILES[@]} -gt 0 ]; then
  "$BENCH" compare "${FILES[@]}" --svg "$OUT/compare$SUFFIX.svg" | tee "$OUT/compare$SUFFIX.md"
fi
if [ ${#FILES[@]} -gt 0 ]; then echo "results: ${FILES[*]}; table $OUT/compare$SUFFIX.md, chart $OUT/compare$SUFFIX.svg" >&2; fi
if [ ${#FAILED[@]} -gt 0 ]; then echo "failed: ${FAILED[*]}" >&2; exit 1; fi
