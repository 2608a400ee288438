#!/usr/bin/env bash
# Install what aer needs on a Debian/Ubuntu machine, skipping what is already there.
#   scripts/setup.sh            the CPU Vulkan driver (Mesa lavapipe), enough for the demo
#   scripts/setup.sh --browser  also Chromium (WebGPU tests, SwiftShader), node (the browser
#                               tests' driver) and the wasm toolchain
set -euo pipefail

want=(mesa-vulkan-drivers)
if [[ "${1:-}" == "--browser" ]]; then
    want+=(chromium rustc-web cargo-web rust-web-src)
    # node may come from elsewhere (nodesource's package bundles npm): only ask for what the
    # commands are missing.
    command -v node >/dev/null || want+=(nodejs)
    command -v npm >/dev/null || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: ok (${want[*]})"
