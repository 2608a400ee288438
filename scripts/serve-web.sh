#!/usr/bin/env bash
# Build the wasm package and serve the browser demo on http://127.0.0.1:${1:-8000}/ (open it in
# a browser with WebGPU). From a fresh machine this installs node first (needs root on Debian);
# the build itself needs what scripts/build-web.sh describes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v node >/dev/null; then
    [[ $(id -u) -eq 0 ]] || { echo "serve-web: node not found: sudo apt-get install nodejs" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs
fi
bash scripts/build-web.sh
exec node web-test/server.mjs "${1:-8000}"
