#!/usr/bin/env bash
# Every test, from a fresh machine: set-up, the Rust tests (kernels on lavapipe), the kernel
# tests again on SwiftShader, the quick benchmark suite, and the WebAssembly smoke test in
# headless Chromium.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --browser
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

echo "== cargo test (lavapipe)"
cargo test --release

echo "== kernel tests on SwiftShader"
# Every kernel test but the three longest sweeps of fixed shapes (their kernels are checked on
# SwiftShader by the random-shape tests), to keep CI's time in bounds; lavapipe runs them all.
VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json cargo test --release --test kernels -- \
    --exact --skip bsr::bsr_block_sizes_and_densities --skip bsr_ternary::bsr_ternary_block_sizes_and_densities \
    --skip matmul::matmul_edge_shapes

echo "== aer-bench --quick"
cargo run --release --bin aer-bench -- --quick --out target/bench-quick.json

echo "== browser smoke test"
bash scripts/test-web.sh
