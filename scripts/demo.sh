#!/usr/bin/env bash
# One command from a fresh machine to the demo: install the CPU Vulkan driver if no GPU
# driver is present, build, and train the mlp preset on the bundled MNIST subset.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo run --release --bin aer -- demo "$@"
