#!/usr/bin/env bash
# End-to-end browser test: build the wasm package (scripts/build-web.sh), install the test's
# node dependencies, then run the matmul smoke test in headless Chromium's WebGPU
# (web-test/smoke.mjs). Needs node >= 20 and Chromium (apt-get install chromium nodejs npm).
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

t=$(date +%s)
status=0
node web-test/smoke.mjs || status=$?
log "browser run: $(elapsed "$t")"
exit $status
