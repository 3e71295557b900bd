#!/usr/bin/env bash
# One command for every GPU check: builds posenet for the local GPU (unless
# a build is given), runs the CUDA parity tests, posenet-bench and the
# PyTorch comparison when PyTorch is importable, and writes a markdown
# report to OUT_DIR/report.md.
#
#   scripts/gpu-check.sh OUT_DIR [BUILD_DIR]
#
# BUILD_DIR defaults to build-gpu (configured with -DPOSENET_CUDA=ON and
# only the local architecture when it does not exist yet). cuDNN/cuBLAS are
# looked up on the default path, then in PyTorch's wheel if one is installed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/gpu-check.sh OUT_DIR [BUILD_DIR]}
BUILD=${2:-build-gpu}
mkdir -p "$OUT"
REPORT="$OUT/report.md"

# Make cuDNN/cuBLAS from a PyTorch installation visible if the system has none.
if ! ldconfig -p 2>/dev/null | grep -q libcudnn.so; then
  for py in python3 python; do
    dirs=$($py - 2>/dev/null <<'PY'
import os, glob
try:
    import torch
    base = os.path.dirname(torch.__file__)
    cands = [os.path.join(base, "lib")]
    site = os.path.dirname(base)
    cands += glob.glob(os.path.join(site, "nvidia", "*", "lib"))
    print(":".join(c for c in cands if os.path.isdir(c)))
except Exception:
    pass
PY
)
    if [ -n "$dirs" ]; then export LD_LIBRARY_PATH="$dirs:${LD_LIBRARY_PATH:-}"; break; fi
  done
fi

if [ ! -x "$BUILD/tests/posenet_tests" ]; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOSENET_CUDA=ON \
        -DPOSENET_CUDA_ARCHS="${arch:-90}" >"$OUT/configure.log" 2>&1 || { echo "configure failed: $OUT/configure.log"; exit 1; }
  cmake --build "$BUILD" --parallel >"$OUT/build.log" 2>&1 || { echo "build failed: $OUT/build.log"; exit 1; }
fi

{
  echo "# posenet GPU report"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- device: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
} >"$REPORT"

# CUDA parity tests: every test whose name mentions Cuda.
"$BUILD/tests/posenet_tests" --gtest_filter='*Cuda*' --gtest_brief=1 >"$OUT/cuda_tests.log" 2>&1
tests_rc=$?
passed=$(grep -c '^\[       OK \]' "$OUT/cuda_tests.log" || true)
{
  echo "## CUDA parity tests"
  echo
  echo "exit code $tests_rc; summary:"
  echo '```'
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$OUT/cuda_tests.log" | head -50
  echo '```'
  echo
} >>"$REPORT"

# Kernel and training-step benchmarks.
"$BUILD/posenet-bench" --benchmark_format=console --benchmark_counters_tabular=true \
  --benchmark_out="$OUT/bench.json" --benchmark_out_format=json >"$OUT/bench.log" 2>&1
{
  echo "## posenet-bench"
  echo
  echo '```'
  grep -vE '^(\*\*\*|-{5,})' "$OUT/bench.log" | head -200
  echo '```'
  echo
} >>"$REPORT"

# PyTorch on the same GPU, same step, when available.
PYTHON=python3
$PYTHON -c 'import torch' 2>/dev/null || PYTHON=/usr/bin/python3
if $PYTHON -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  $PYTHON bench/pytorch_train_step.py >"$OUT/pytorch.log" 2>&1
  {
    echo "## PyTorch, same GPU, same run"
    echo
    echo '```'
    cat "$OUT/pytorch.log"
    echo '```'
  } >>"$REPORT"
fi
echo "report: $REPORT"
exit $tests_rc
