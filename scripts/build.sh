#!/usr/bin/env bash
# Configures and builds posenet into build/ (Release). Extra arguments go to
# CMake's configure step, e.g. -DPOSENET_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
