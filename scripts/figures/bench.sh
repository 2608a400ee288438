#!/usr/bin/env bash
# The recorded benchmark runs: the full suite on every CPU adapter this kind of machine has
# (lavapipe and SwiftShader through Vulkan, wgpu's GL backend on llvmpipe), then the
# comparison table and chart that BENCHMARKS.md shows. Not part of CI (minutes per adapter).
#   scripts/figures/bench.sh [OUT_DIR]       (default benches/results)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${1:-benches/results}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo build --release --bin aer-bench
B=target/release/aer-bench
mkdir -p "$OUT"
$B --adapter llvmpipe --backend vulkan --out "$OUT/llvmpipe-vulkan.json"
VK_ADD_DRIVER_FILES=/usr/lib/chromium/vk_swiftshader_icd.json $B --adapter swiftshader --backend vulkan --out "$OUT/swiftshader-vulkan.json"
$B --adapter llvmpipe --backend gl --out "$OUT/llvmpipe-gl.json"
$B compare "$OUT/llvmpipe-vulkan.json" "$OUT/swiftshader-vulkan.json" "$OUT/llvmpipe-gl.json" --svg "$OUT/compare.svg" | tee "$OUT/compare.md"
