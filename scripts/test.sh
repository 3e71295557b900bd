#!/usr/bin/env bash
# Installs the dependencies, builds posenet and runs the whole test suite:
#   1. the CPU suite under ctest (CUDA tests skip without a GPU),
#   2. the same suite in the emulated CUDA build (-DPOSENET_CUDA=EMU, every
#      CUDA test runs) under AddressSanitizer + LeakSanitizer + UBSan,
#   3. every libFuzzer target: the committed corpus replayed, then fuzzing.
#   scripts/test.sh --quick    only step 1
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --parallel "$(nproc)" --timeout 1500
if [ "${1:-}" = "--quick" ]; then exit 0; fi
BUILD_DIR=build-asan bash scripts/sanitize.sh
BUILD_DIR=build-fuzz bash scripts/fuzz.sh
