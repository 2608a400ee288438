#!/usr/bin/env bash
# End-to-end browser tests: build the wasm package (scripts/build-web.sh), install the tests'
# node dependencies, then in headless Chromium's WebGPU run the matmul smoke test
# (web-test/smoke.mjs) and the demo's whole flow (web-test/demo.mjs: train, prune,
# ternarize, attack, draw, benchmark), and parse the demo's benchmark file with the native
# aer-bench. Needs node >= 20 and Chromium (apt-get install chromium nodejs npm).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() { echo "test-web: error: $*" >&2; exit 1; }
log() { echo "test-web: $*"; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

command -v node >/dev/null || die "node not found: apt-get install nodejs npm (node >= 20)"
command -v npm >/dev/null || die "npm not found: apt-get install npm"
[[ $(node -p 'process.versions.node.split(".")[0]') -ge 20 ]] || die "node >= 20 needed, found $(node --version)"

t=$(date +%s)
bash scripts/build-web.sh
log "build: $(elapsed "$t")"

# npm ci wipes node_modules, so only run it when the lock changed since the last install.
t=$(date +%s)
STAMP=web-test/node_modules/.aer-lock.sha256
LOCK_SUM=$(sha256sum web-test/package-lock.json | cut -d' ' -f1)
if [[ ! -d web-test/node_modules/playwright-core || "$(cat "$STAMP" 2>/dev/null)" != "$LOCK_SUM" ]]; then
    (cd web-test && npm ci --no-audit --no-fund)
    echo "$LOCK_SUM" > "$STAMP"
    log "npm ci: $(elapsed "$t")"
else
    log "npm ci: skipped (node_modules matches package-lock.json)"
fi

status=0
t=$(date +%s)
node web-test/smoke.mjs || status=$?
log "smoke test: $(elapsed "$t")"

t=$(date +%s)
node web-test/demo.mjs || status=$?
log "demo flow: $(elapsed "$t")"

# The page's benchmark file must be one the native tools read: aer-bench compare parses it
# with the native schema (beside the native quick run when there is one).
if [[ -f target/web-e2e/bench-web.json ]]; then
    native=()
    [[ -f target/bench-quick.json ]] && native=(target/bench-quick.json)
    if cargo run --release --quiet --bin aer-bench -- compare "${native[@]}" target/web-e2e/bench-web.json --svg target/web-e2e/bench-compare.svg > target/web-e2e/bench-compare.md; then
        log "benchmark file parsed by aer-bench compare: target/web-e2e/bench-compare.md"
    else
        log "error: aer-bench could not read the page's benchmark file"
        status=1
    fi
fi
exit $status
