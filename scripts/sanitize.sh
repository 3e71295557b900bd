#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer, LeakSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ and runs it with ctest. Any
# finding fails the run (abort_on_error / halt_on_error). The build is the
# emulated CUDA backend (POSENET_CUDA=EMU, docs/emu.md): the CPU suite plus
# every CUDA kernel and CUDA test, run on the CPU under the sanitizers.
#
#   scripts/sanitize.sh [extra ctest arguments, e.g. -R Safetensors]
#
# BUILD_DIR overrides build-asan. -O1 keeps the float64 gradient checks
# fast enough on two cores while keeping stack traces readable.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}

cmake -S . -B "$BUILD" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DPOSENET_SANITIZE=ON -DPOSENET_CUDA=EMU -DPOSENET_BUILD_BENCH=OFF \
  -DPOSENET_BUILD_TESTS=ON

# The test discovery step runs the test binary, so the options must already
# be set while building.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

cmake --build "$BUILD" --parallel "$JOBS"
# EndToEnd.* runs the README's whole training command (configs/
# tiny_synthetic.toml, 8 epochs): some 20 minutes under the sanitizers on two
# cores (30 were measured when it had 12 epochs), and the same code paths as the
# Trainer.* tests, which do run here.
ctest --test-dir "$BUILD" --output-on-failure --parallel "$JOBS" --timeout 600 -E '^EndToEnd\.' "$@"
